"""The conversation controller every chat shares: what to show of one audit request, and when.

A request gets one message in its chat. The controller shows what ``submit`` said in it (queued,
joined, cached or refused), edits progress into it as the delivery stream brings it (throttled,
newest line of a stage only, in the background so a slow edit never holds up other chats), and
finally replaces it with the answer, more parts and attachments following. A request whose answer
is shown is remembered (bounded), so a late progress line never overwrites a report. When the
message can no longer be edited, the answer goes to a new message (and progress too, where the
platform wants it). The platform is a small ``Surface``: it renders and edits or sends; the
adapters (Telegram, Discord) implement it in a few lines over their library.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Generic, Protocol, TypeVar

from bot.pipeline.messages import AuditOutcome, AuditRequest, Delivery, Progress, ReplyTo
from bot.pipeline.service import Submission

__all__ = [
    "REMEMBERED",
    "Answer",
    "ChatGone",
    "Controller",
    "MessageGone",
    "Result",
    "Surface",
]

log = logging.getLogger("followaudit.chat")

#: Requests remembered as answered (and locks kept) at most; the oldest are forgotten first.
REMEMBERED: Final = 10_000

C = TypeVar("C")  # a platform's conversation reference (chat and message, interaction...)
M = TypeVar("M")  # a platform's message: what it edits in or sends


class MessageGone(Exception):
    """The conversation's message can no longer be edited (deleted, too old, its token expired)."""


class ChatGone(Exception):
    """The chat can no longer be written to (the bot was blocked or removed, the channel is
    gone): retrying cannot help, so the answer is dropped."""


@dataclass(frozen=True, slots=True)
class Result:
    """A request's final outcome, to be answered: ``cached`` the submission that found it in
    the cache (None when it came through the delivery stream)."""

    request: AuditRequest
    job_id: str
    outcome: AuditOutcome
    cached: Submission | None = None


@dataclass(frozen=True, slots=True)
class Answer(Generic[M]):
    """The final answer in a platform's messages: the first replaces the conversation's message,
    the rest are sent after it, in order."""

    parts: Sequence[M]


class Surface(Protocol[C, M]):
    """A chat platform as the controller sees it: its conversation reference, its renderings
    and its two calls, edit and send."""

    #: The platform's exceptions for a call it refused; progress is best effort past them.
    failures: tuple[type[Exception], ...]
    #: Whether progress and the first answer go to a new message when the conversation's
    #: message is gone (the final answer always does).
    progress_when_gone: bool

    def conversation(self, reply: ReplyTo) -> C:
        """The reference a request carries; ``ValueError`` when it is not a usable one."""
        ...

    def progress(self, request: AuditRequest, progress: Progress) -> M: ...

    def status(self, submission: Submission) -> M:
        """What ``submit`` said: queued, joined or refused."""
        ...

    async def answer(self, result: Result) -> Answer[M]:
        """The final answer: the report with its buttons, or the error."""
        ...

    async def edit(self, conv: C, message: M) -> object:
        """Show ``message`` in place of the conversation's message and return a reference to
        it; ``MessageGone`` when it cannot be edited any more."""
        ...

    async def send(self, conv: C, message: M, after: object | None) -> object:
        """Send ``message`` to the conversation's chat (``after`` the message it follows, or
        None) and return a reference to it; ``ChatGone`` when the chat is gone for good."""
        ...


@dataclass(slots=True)
class _Request(Generic[C, M]):
    """What the controller keeps of one request until it is answered."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: progress lines not shown yet, oldest first, at most one per stage in a row
    pending: list[tuple[C, str, M]] = field(default_factory=list)
    painter: asyncio.Task[None] | None = None
    #: the stage last shown and when
    shown: tuple[str, float] | None = None


@dataclass(eq=False)
class Controller(Generic[C, M]):
    """One chat's conversations: ``submitted`` after ``submit``, ``deliver`` for the delivery
    stream; ``throttle`` seconds between two progress edits of the same stage."""

    surface: Surface[C, M]
    throttle: float = 0.0
    clock: Callable[[], float] = time.monotonic
    remembered: int = REMEMBERED
    _requests: dict[str, _Request[C, M]] = field(default_factory=dict, init=False)
    _answered: OrderedDict[str, None] = field(default_factory=OrderedDict, init=False)

    async def aclose(self) -> None:
        """Stop showing progress (answers are never left half-sent: they are awaited)."""
        painters = []
        for state in self._requests.values():
            if state.painter is not None:
                painters.append(state.painter)
                state.painter.cancel()
                state.painter = None
            state.pending.clear()
        await asyncio.gather(*painters, return_exceptions=True)

    def answered(self, request_id: str) -> bool:
        """Whether the request's final answer has been shown (or dropped for good)."""
        return request_id in self._answered

    # ------------------------------------------------------------------ entry points
    async def submitted(self, conv: C, submission: Submission) -> None:
        """Show what ``submit`` said, unless progress or the answer has already overtaken it;
        a cached result is the answer itself."""
        request = submission.request
        rid = request.request_id
        if submission.status == "cached" and submission.outcome is not None:
            result = Result(request, submission.job_id or "", submission.outcome, submission)
            await self._answer(conv, result)
            return
        state = self._request(rid)
        async with state.lock:
            if rid in self._answered or state.shown is not None:
                return
            try:
                await self.show(conv, self.surface.status(submission), final=False)
            except ChatGone as exc:
                log.warning("chat gone: %s", exc)
                self._finish(rid)
                return
            if submission.answered:
                self._finish(rid)

    async def deliver(self, delivery: Delivery) -> None:
        """One entry of the delivery stream: progress is shown in the background, the final
        answer before this returns (what raises is retried by the stream)."""
        request = delivery.request
        try:
            conv = self.surface.conversation(request.reply)
        except ValueError as exc:
            log.error("delivery without a usable conversation dropped: %s", exc)
            return
        if delivery.kind == "result" and delivery.outcome is not None:
            await self._answer(conv, Result(request, delivery.job_id, delivery.outcome))
        elif delivery.kind == "progress" and delivery.progress is not None:
            if request.request_id in self._answered:
                return  # the answer is already there
            message = self.surface.progress(request, delivery.progress)
            self._queue(request.request_id, conv, delivery.progress.stage, message)

    # ------------------------------------------------------------------ progress
    def _queue(self, rid: str, conv: C, stage: str, message: M) -> None:
        state = self._request(rid)
        if state.pending and state.pending[-1][1] == stage:
            state.pending[-1] = (conv, stage, message)  # a newer line of the same stage
        else:
            state.pending.append((conv, stage, message))
        if state.painter is None:
            state.painter = asyncio.create_task(self._paint(rid, state), name=f"progress-{rid}")

    async def _paint(self, rid: str, state: _Request[C, M]) -> None:
        skipped: tuple[type[Exception], ...] = (ChatGone, *self.surface.failures)
        try:
            while state.pending:
                async with state.lock:
                    if not state.pending or rid in self._answered:
                        break
                    conv, stage, message = state.pending.pop(0)
                    now = self.clock()
                    last_stage, at = state.shown or ("", -1e9)
                    if last_stage == stage and now - at < self.throttle:
                        continue
                    state.shown = (stage, now)
                    try:
                        await self.show(conv, message, final=False)
                    except skipped as exc:
                        log.info("progress edit failed (%s); skipped", exc)
        finally:
            state.painter = None

    # ------------------------------------------------------------------ answers
    async def _answer(self, conv: C, result: Result) -> None:
        rid = result.request.request_id
        if rid in self._answered:
            return  # delivered again: the answer is shown once
        answer = await self.surface.answer(result)
        state = self._request(rid)
        async with state.lock:
            if rid in self._answered:
                return
            self._finish(rid)
            try:
                last = await self.show(conv, answer.parts[0], final=True)
                for part in answer.parts[1:]:
                    last = await self.surface.send(conv, part, last)
            except ChatGone as exc:
                log.warning("report not deliverable: %s", exc)
            except BaseException:
                self._answered.pop(rid, None)  # the stream delivers it again
                raise
        self._requests.pop(rid, None)

    async def show(self, conv: C, message: M, *, final: bool = True) -> object:
        """Edit the conversation's message; when it is gone, send a new one (for what is not
        ``final`` only where the platform wants it). Returns the message now showing it."""
        try:
            return await self.surface.edit(conv, message)
        except MessageGone as exc:
            if not final and not self.surface.progress_when_gone:
                log.info("message gone (%s); progress skipped", exc)
                return None
            log.info("message gone (%s); sending a new one", exc)
        return await self.surface.send(conv, message, None)

    # ------------------------------------------------------------------ bookkeeping
    def _request(self, rid: str) -> _Request[C, M]:
        state = self._requests.get(rid)
        if state is None:
            if len(self._requests) >= self.remembered:
                for old in [k for k, v in self._requests.items() if _idle(v)]:
                    del self._requests[old]
            state = self._requests[rid] = _Request()
        return state

    def _finish(self, rid: str) -> None:
        self._answered[rid] = None
        self._answered.move_to_end(rid)
        while len(self._answered) > self.remembered:
            self._answered.popitem(last=False)
        state = self._requests.get(rid)
        if state is not None:
            state.pending.clear()


def _idle(state: _Request[C, M]) -> bool:
    return not state.lock.locked() and state.painter is None and not state.pending
