"""The conversation controller (``bot.chat.conversation``) on a tiny in-memory chat platform:
what it shows of a request and when, progress throttled and never after the answer, edit falling
back to send, a gone chat dropped and a failing one retried."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.chat.conversation import Answer, ChatGone, Controller, MessageGone, Result
from bot.pipeline.messages import (
    AuditOutcome,
    AuditRequest,
    Delivery,
    Progress,
    ReplyTo,
    UserError,
)
from bot.pipeline.service import Submission

DEADLINE = 5.0


class Refused(Exception):
    """The platform refused a call (its own error type)."""


@dataclass
class Room:
    """One chat of the in-memory platform: its messages by id, and a log of every call."""

    messages: dict[int, str] = field(default_factory=dict)
    calls: list[tuple[str, int, str]] = field(default_factory=list)


class MemoryChat:
    """A chat platform in memory: conversations are ``{"room": name, "message": id}``;
    ``gone`` message ids cannot be edited, ``closed`` rooms refuse everything for good and
    ``failing`` makes the next calls raise the platform's own error."""

    failures: tuple[type[Exception], ...] = (Refused,)

    def __init__(self, *, progress_when_gone: bool = True) -> None:
        self.progress_when_gone = progress_when_gone
        self.rooms: dict[str, Room] = {}
        self.gone: set[int] = set()
        self.closed: set[str] = set()
        self.failing = 0
        self.answers = 0
        self.hold: asyncio.Event | None = None  # set: edits wait for it
        self.editing = asyncio.Event()  # set once an edit has begun
        self._next_id = 100
        self._changed = asyncio.Condition()

    # ------------------------------------------------------------------ Surface
    def conversation(self, reply: ReplyTo) -> tuple[str, int]:
        conv = reply.conversation
        if not isinstance(conv.get("room"), str):
            raise ValueError("no room")
        return conv["room"], int(conv.get("message") or 0)

    def progress(self, request: AuditRequest, progress: Progress) -> str:
        return f"{request.handle}: {progress.describe()}"

    def status(self, submission: Submission) -> str:
        return f"{submission.request.handle}: {submission.status}"

    async def answer(self, result: Result) -> Answer[str]:
        self.answers += 1
        handle, error = result.request.handle, result.outcome.error
        assert error is not None
        first = f"{handle}: answer {error.message}" + (" (cached)" if result.cached else "")
        return Answer([first, f"{handle}: more"])

    async def edit(self, conv: tuple[str, int], message: str) -> int:
        room, message_id = conv
        self.editing.set()
        if self.hold is not None:
            await self.hold.wait()
        self._check(room)
        if message_id in self.gone or message_id not in self.room(room).messages:
            raise MessageGone(f"message {message_id}")
        await self._record(room, "edit", message_id, message)
        return message_id

    async def send(self, conv: tuple[str, int], message: str, after: object | None) -> int:
        room = conv[0]
        self._check(room)
        self._next_id += 1
        await self._record(room, "send", self._next_id, message)
        return self._next_id

    # ------------------------------------------------------------------ the test's side
    def room(self, name: str) -> Room:
        return self.rooms.setdefault(name, Room())

    def open(self, name: str) -> tuple[str, int]:
        """A room with a first message in it, as an adapter's first answer makes."""
        self._next_id += 1
        self.room(name).messages[self._next_id] = "…"
        return name, self._next_id

    def shown(self, conv: tuple[str, int]) -> str:
        return self.room(conv[0]).messages[conv[1]]

    def _check(self, room: str) -> None:
        if room in self.closed:
            raise ChatGone(room)
        if self.failing:
            self.failing -= 1
            raise Refused("try later")

    async def _record(self, room: str, call: str, message_id: int, text: str) -> None:
        async with self._changed:
            self.room(room).messages[message_id] = text
            self.room(room).calls.append((call, message_id, text))
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), DEADLINE)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(conv: tuple[str, int], handle: str = "alice") -> AuditRequest:
    reply = ReplyTo("memory", {"room": conv[0], "message": conv[1]})
    return AuditRequest(
        "bluesky", handle, 100, user="memory:1", chat=f"memory:{conv[0]}", reply=reply
    )


def queued(req: AuditRequest) -> Submission:
    return Submission("queued", req, job_id="job1", position=1)


def progress(req: AuditRequest, stage: str, done: int | None = None) -> Delivery:
    return Delivery("progress", "d", "job1", req, progress=Progress(stage, done, 100))


def result(req: AuditRequest, message: str = "done") -> Delivery:
    return Delivery("result", "d", "job1", req, outcome=AuditOutcome(error=UserError("x", message)))


async def settled(controller: Controller[tuple[str, int], str]) -> None:
    """Wait (bounded) until no progress is being shown in the background."""
    painters = [r.painter for r in controller._requests.values() if r.painter is not None]
    await asyncio.wait_for(asyncio.gather(*painters), DEADLINE)


@pytest.fixture
def chat() -> MemoryChat:
    return MemoryChat()


Conv = tuple[str, int]


def begin(chat: MemoryChat, **options: Any) -> tuple[Controller[Conv, str], Conv, AuditRequest]:
    """A controller on ``chat``, a room's first message and a request answered there."""
    conv = chat.open("r")
    return Controller(chat, **options), conv, request(conv)


async def test_submission_progress_and_answer_replace_one_message_in_order(
    chat: MemoryChat,
) -> None:
    controller, conv, req = begin(chat)
    await controller.submitted(conv, queued(req))
    assert chat.shown(conv) == "alice: queued"
    await controller.deliver(progress(req, "fetching", 10))
    await chat.wait_for(lambda: chat.shown(conv) == "alice: fetching 10 of 100 followers")
    await controller.deliver(progress(req, "scoring"))
    await chat.wait_for(lambda: chat.shown(conv) == "alice: scoring")
    await controller.deliver(result(req))
    assert chat.shown(conv) == "alice: answer done"
    assert chat.room("r").calls[-1][0:1] == ("send",)  # the second part follows as a new message
    assert controller.answered(req.request_id)
    # a late progress line never overwrites the answer, and a second delivery is not shown again
    calls = len(chat.room("r").calls)
    await controller.deliver(progress(req, "scoring"))
    await controller.deliver(result(req))
    await settled(controller)
    assert len(chat.room("r").calls) == calls and chat.shown(conv) == "alice: answer done"
    await controller.aclose()


async def test_progress_of_one_stage_is_throttled_and_a_new_stage_always_shows(
    chat: MemoryChat,
) -> None:
    clock = Clock()
    controller, conv, req = begin(chat, throttle=5.0, clock=clock)
    await controller.deliver(progress(req, "fetching", 10))
    await chat.wait_for(lambda: "10 of" in chat.shown(conv))
    await controller.deliver(progress(req, "fetching", 20))  # within 5 s: skipped
    await settled(controller)
    assert "10 of" in chat.shown(conv)
    clock.now += 5.0
    await controller.deliver(progress(req, "fetching", 30))
    await chat.wait_for(lambda: "30 of" in chat.shown(conv))
    await controller.deliver(progress(req, "scoring"))  # a new stage: at once
    await chat.wait_for(lambda: chat.shown(conv) == "alice: scoring")
    texts = [text for _, _, text in chat.room("r").calls]
    assert not any("20 of" in t for t in texts)
    await controller.aclose()


async def test_a_slow_edit_keeps_only_the_newest_line_of_a_stage(chat: MemoryChat) -> None:
    controller, _, req = begin(chat)
    chat.hold = asyncio.Event()
    await controller.deliver(progress(req, "fetching", 10))
    await asyncio.wait_for(chat.editing.wait(), DEADLINE)  # the first edit is under way
    for done in (20, 30):
        await controller.deliver(progress(req, "fetching", done))
    await controller.deliver(progress(req, "scoring"))
    chat.hold.set()
    await settled(controller)
    texts = [text for _, _, text in chat.room("r").calls]
    assert texts == ["alice: fetching 10 of 100 followers", "alice: fetching 30 of 100 followers",
                     "alice: scoring"]  # fmt: skip
    await controller.aclose()


async def test_progress_already_shown_is_not_overwritten_by_the_late_submission(
    chat: MemoryChat,
) -> None:
    controller, conv, req = begin(chat)
    await controller.deliver(progress(req, "scoring"))
    await chat.wait_for(lambda: chat.shown(conv) == "alice: scoring")
    await controller.submitted(conv, queued(req))
    assert chat.shown(conv) == "alice: scoring"
    await controller.aclose()


async def test_a_gone_message_gets_the_answer_as_a_new_one_and_progress_where_wanted() -> None:
    for progress_when_gone in (True, False):
        chat = MemoryChat(progress_when_gone=progress_when_gone)
        controller = Controller(chat)
        conv = chat.open("r")
        chat.gone.add(conv[1])
        req = request(conv)
        await controller.deliver(progress(req, "scoring"))
        await settled(controller)
        sent = [text for call, _, text in chat.room("r").calls if call == "send"]
        assert sent == (["alice: scoring"] if progress_when_gone else [])
        await controller.deliver(result(req))
        sent = [text for call, _, text in chat.room("r").calls if call == "send"]
        assert sent[-2:] == ["alice: answer done", "alice: more"]
        await controller.aclose()


async def test_a_cached_submission_is_the_answer_and_a_refusal_ends_the_request(
    chat: MemoryChat,
) -> None:
    controller = Controller(chat)
    conv, other = chat.open("r"), chat.open("s")
    req = request(conv)
    outcome = AuditOutcome(error=UserError("x", "old"))
    cached = Submission("cached", req, job_id="job1", age=60, outcome=outcome)
    await controller.submitted(conv, cached)
    assert chat.shown(conv) == "alice: answer old (cached)"
    refused_req = request(other, "bob")
    refusal = UserError("rate", "slow down")
    await controller.submitted(other, Submission("refused", refused_req, refusal=refusal))
    assert chat.shown(other) == "bob: refused" and controller.answered(refused_req.request_id)
    await controller.deliver(progress(refused_req, "scoring"))
    await settled(controller)
    assert chat.shown(other) == "bob: refused"
    await controller.aclose()


async def test_a_gone_chat_drops_the_answer_and_a_failing_one_is_retried(
    chat: MemoryChat, caplog: pytest.LogCaptureFixture
) -> None:
    controller = Controller(chat)
    closed, failing = chat.open("closed"), chat.open("failing")
    chat.closed.add("closed")
    with caplog.at_level(logging.WARNING, "followaudit.chat"):
        await controller.deliver(result(request(closed)))  # no raise: retrying cannot help
    assert "not deliverable" in caplog.text
    req = request(failing)
    chat.failing = 1
    with pytest.raises(Refused):
        await controller.deliver(result(req))
    assert not controller.answered(req.request_id)
    await controller.deliver(result(req))  # the stream delivers it again
    assert chat.shown(failing) == "alice: answer done" and controller.answered(req.request_id)
    await controller.aclose()


async def test_a_refused_progress_edit_is_skipped_and_the_next_one_shows(chat: MemoryChat) -> None:
    controller, conv, req = begin(chat)
    chat.failing = 1
    await controller.deliver(progress(req, "fetching", 10))
    await settled(controller)
    assert chat.shown(conv) == "…"
    await controller.deliver(progress(req, "scoring"))
    await chat.wait_for(lambda: chat.shown(conv) == "alice: scoring")
    await controller.aclose()


async def test_a_delivery_without_a_usable_conversation_is_dropped(
    chat: MemoryChat, caplog: pytest.LogCaptureFixture
) -> None:
    controller = Controller(chat)
    req = AuditRequest(
        "bluesky", "alice", 100, user="memory:1", chat="memory:r", reply=ReplyTo("memory", {})
    )
    with caplog.at_level(logging.ERROR, "followaudit.chat"):
        await controller.deliver(result(req))
    assert "without a usable conversation" in caplog.text and chat.answers == 0


async def test_answered_requests_are_remembered_within_a_bound(chat: MemoryChat) -> None:
    controller = Controller(chat, remembered=3)
    requests = [request(chat.open(f"r{i}")) for i in range(5)]
    for req in requests:
        await controller.deliver(result(req))
    assert [controller.answered(r.request_id) for r in requests] == [False, False, True, True, True]
    assert not controller._requests  # nothing kept of answered requests


async def test_close_stops_progress_still_waiting_to_be_shown(chat: MemoryChat) -> None:
    controller = Controller(chat)
    conv = chat.open("r")
    chat.hold = asyncio.Event()
    await controller.deliver(progress(request(conv), "scoring"))
    await controller.aclose()
    chat.hold.set()
    assert chat.shown(conv) == "…" and not any(r.painter for r in controller._requests.values())
