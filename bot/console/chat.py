"""The console chat adapter: ``/audit bsky:someone`` lines on standard input, progress and
reports on standard output, over the same pipeline a Discord or Telegram user reaches.

At the end of its input it waits for every audit it queued (through worker crashes and Redis
restarts), prints each report exactly once as plain text, and returns. Progress lines never state
a grade.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

import redis.asyncio as aioredis

from bot.chat.commands import HELP_LINES, CommandError, build_request, parse_audit_args
from bot.chat.conversation import Answer, Controller, Result
from bot.pipeline.delivery import DeliveryConsumer
from bot.pipeline.messages import AuditRequest, Delivery, Progress, ReplyTo, new_id
from bot.pipeline.service import AuditService, Submission
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.chat.commands import AuditCommand

__all__ = ["HELP", "ConsoleChat", "ConsoleSurface", "parse_command"]

log = logging.getLogger("followaudit.console")

HELP = " ".join(HELP_LINES[1:3])


def parse_command(line: str, settings: Settings) -> AuditCommand | None:
    """``/audit HANDLE [SAMPLE] [fresh]`` (or a bare handle) -> the parsed command; None for an
    empty line; CommandError (one line for the user) otherwise."""
    words = line.strip().split()
    if not words:
        return None
    if words[0].startswith("/"):
        command = words[0].split("@", 1)[0].lower()
        if command in ("/help", "/start"):
            # A console has no file uploads; `followaudit audit-file` audits an export.
            raise CommandError("\n".join(line for line in HELP_LINES if "export" not in line))
        if command != "/audit":
            raise CommandError(f"Unknown command {words[0][:40]!r}. {HELP}")
        words = words[1:]
    return parse_audit_args(words, settings)


@dataclass(slots=True)
class ConsoleSurface:
    """The console as the conversation controller's surface: every message is a new line of
    plain text under its account's label (a console edits nothing)."""

    say: Callable[[str], None]
    failures: tuple[type[Exception], ...] = (OSError,)
    progress_when_gone: bool = True

    def conversation(self, reply: ReplyTo) -> None:
        return None

    def progress(self, request: AuditRequest, progress: Progress) -> str:
        return f"[{_label(request.platform, request.handle)}] {progress.describe()}"

    def status(self, submission: Submission) -> str:
        request = submission.request
        return f"[{_label(request.platform, request.handle)}] {submission.describe()}"

    async def answer(self, result: Result) -> Answer[str]:
        request, outcome = result.request, result.outcome
        label = _label(request.platform, request.handle)
        if outcome.ok:
            from scoring.audit import render_text

            text = render_text(outcome.report.audit) if outcome.report else "(empty report)"
            return Answer([f"[{label}] report:\n{text}"])
        assert outcome.error is not None
        return Answer([f"[{label}] {outcome.error.message}"])

    async def edit(self, conv: None, message: str) -> None:
        self.say(message)

    async def send(self, conv: None, message: str, after: object | None) -> None:
        self.say(message)


class ConsoleChat:
    """One console conversation: submit lines, print what comes back, remember what is owed."""

    def __init__(
        self,
        redis: aioredis.Redis,
        settings: Settings,
        *,
        out: TextIO | None = None,
        service: AuditService | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.out = out or sys.stdout
        self.service = service or AuditService.from_settings(redis, settings)
        self.adapter = f"console-{new_id()[:12]}"
        self.user = f"console:{_user()}"
        self.owed: dict[str, str] = {}  # request id -> label
        self.controller = Controller(ConsoleSurface(self.say))
        self._all_answered = asyncio.Event()
        self._all_answered.set()
        self.consumer = DeliveryConsumer(
            redis, self.adapter, self._on_delivery, prefix=settings.redis.prefix,
            claim_idle=settings.delivery.claim_idle_seconds, block=0.5,
        )  # fmt: skip

    def say(self, text: str) -> None:
        self.out.write(text.rstrip("\n") + "\n")
        self.out.flush()

    async def handle_line(self, line: str) -> None:
        try:
            parsed = parse_command(line, self.settings)
        except CommandError as exc:
            self.say(str(exc))
            return
        if parsed is None:
            return
        request = build_request(
            parsed, user=self.user, chat=f"console:{self.adapter}", reply=ReplyTo(self.adapter, {})
        )
        label = _label(parsed.platform, parsed.handle)
        # Owed before submitting: a fast worker may deliver before submit returns.
        self.owed[request.request_id] = label
        self._all_answered.clear()
        submission = await self.service.submit(request, trusted=True)
        rid = submission.request.request_id
        if rid != request.request_id:
            self.owed.pop(request.request_id, None)
            self.owed[rid] = label
        # Every step is a new line here, so what submit said is always printed first.
        self.say(f"[{label}] {submission.describe()}")
        if submission.status == "cached":
            await self.controller.submitted(None, submission)
        if submission.answered or self.controller.answered(rid):
            self._settle(rid)

    async def _on_delivery(self, delivery: Delivery) -> None:
        await self.controller.deliver(delivery)
        rid = delivery.request.request_id
        if self.controller.answered(rid):
            self._settle(rid)

    def _settle(self, rid: str) -> None:
        self.owed.pop(rid, None)
        if not self.owed:
            self._all_answered.set()

    async def wait_answered(self) -> None:
        await self._all_answered.wait()

    async def close(self) -> None:
        """Stop printing progress and forget this console's delivery stream (everything owed
        has been printed)."""
        await self.controller.aclose()
        try:
            await self.redis.delete(self.consumer.stream)
        except Exception:  # best effort cleanup
            log.debug("could not delete the console stream", exc_info=True)


def _label(platform: str, handle: str) -> str:
    return f"{'bsky' if platform == 'bluesky' else platform}:{handle}"


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "local"


async def read_lines(stream: TextIO) -> asyncio.Queue[str | None]:
    """Lines of ``stream`` (a terminal, a pipe or a file) as they come; None at the end."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def pump() -> None:
        for line in stream:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="stdin", daemon=True).start()
    return queue
