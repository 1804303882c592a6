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
from typing import TextIO

import redis.asyncio as aioredis

from bot.chat.commands import (
    HELP_LINES,
    AuditCommand,
    CommandError,
    build_request,
    parse_audit_args,
)
from bot.pipeline.delivery import DeliveryConsumer
from bot.pipeline.messages import AuditOutcome, Delivery, ReplyTo, new_id
from bot.pipeline.service import AuditService, Submission
from bot.settings import Settings

__all__ = ["HELP", "ConsoleChat", "parse_command"]

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
        self.printed: set[str] = set()
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
        if submission.request.request_id != request.request_id:
            self.owed.pop(request.request_id, None)
            self.owed[submission.request.request_id] = label
        self._on_submission(submission, label)

    def _on_submission(self, sub: Submission, label: str) -> None:
        self.say(f"[{label}] {sub.describe()}")
        if sub.status == "cached" and sub.outcome is not None:
            self._answer(sub.request.request_id, label, sub.outcome)
        elif sub.status == "refused":
            self._settle(sub.request.request_id)

    async def _on_delivery(self, delivery: Delivery) -> None:
        rid = delivery.request.request_id
        label = self.owed.get(rid) or _label(delivery.request.platform, delivery.request.handle)
        if delivery.kind == "progress" and delivery.progress is not None:
            if rid in self.owed:
                self.say(f"[{label}] {delivery.progress.describe()}")
        elif delivery.kind == "result" and delivery.outcome is not None:
            self._answer(rid, label, delivery.outcome)

    def _answer(self, rid: str, label: str, outcome: AuditOutcome) -> None:
        if rid in self.printed:
            return
        self.printed.add(rid)
        if outcome.ok:
            from scoring.audit import render_text

            text = render_text(outcome.report.audit) if outcome.report else "(empty report)"
            self.say(f"[{label}] report:\n{text}")
        else:
            assert outcome.error is not None
            self.say(f"[{label}] {outcome.error.message}")
        self._settle(rid)

    def _settle(self, rid: str) -> None:
        self.owed.pop(rid, None)
        if not self.owed:
            self._all_answered.set()

    async def wait_answered(self) -> None:
        await self._all_answered.wait()

    async def close(self) -> None:
        """Forget this console's delivery stream (everything owed has been printed)."""
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
