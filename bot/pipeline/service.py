"""What a chat adapter talks to: submit an audit request and read results and history.

``submit`` returns at once with one of: queued (with position; only once Redis has it),
coalesced (joined the running audit of the same handle and sample), cached (a fresh result,
with its age), or refused (a limit, with when to retry).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from bot.infra.durations import age as describe_age
from bot.pipeline.messages import AuditOutcome, AuditRequest, ReplyTo, UserError, new_id
from bot.pipeline.resilience import retrying
from bot.pipeline.store import Store
from bot.pipeline.uploads import UploadStore

__all__ = ["AuditService", "Download", "Submission", "describe_age"]

_REFUSALS = {
    "user_rate": "You have asked for many audits in a short time.",
    "chat_rate": "This chat has asked for many audits in a short time.",
    "in_flight": "You already have several audits running; wait for one to finish.",
    "uploads_full": "Too many uploaded files are waiting to be audited right now.",
}

#: How long an admitted upload holds its in-flight slot while it is fetched, at most.
UPLOAD_HOLD_SECONDS = 300.0
#: When to try again after "uploads_full" (files are deleted as their audits are answered).
UPLOADS_FULL_RETRY_SECONDS = 60.0

#: Fetches an upload's bytes (a chat platform's download), called only once limits allow it.
Download = Callable[[], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class Submission:
    status: str  # queued | coalesced | cached | refused
    request: AuditRequest
    job_id: str | None = None
    position: int | None = None
    age: float | None = None
    outcome: AuditOutcome | None = None  # for cached answers
    refusal: UserError | None = None

    @property
    def answered(self) -> bool:
        """True when this reply is the final answer (cached or refused): no delivery follows."""
        return self.status in ("cached", "refused")

    def describe(self) -> str:
        """One line for the chat."""
        what = f"{self.request.platform}:{self.request.handle}"
        if self.status == "queued":
            return f"Audit of {what} queued (position {self.position})."
        if self.status == "coalesced":
            return f"An audit of {what} is already running; you will get its result."
        if self.status == "cached":
            return f"Result for {what} from {describe_age(self.age or 0)} ago (cached)."
        assert self.refusal is not None
        return self.refusal.message


class AuditService:
    """Submit requests and read results; one per process, shared by its adapters."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = "fa:",
        cache_ttl: float = 6 * 3600.0,
        user_rate: tuple[int, float] = (10, 60.0),
        chat_rate: tuple[int, float] = (30, 60.0),
        user_in_flight: int = 3,
        upload_ttl: int = 86400,
        upload_max_held_bytes: int | None = None,
        max_sample: int = 5000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = Store(redis, prefix)
        self.uploads = UploadStore(redis, prefix, upload_ttl, upload_max_held_bytes)
        self.cache_ttl = cache_ttl
        self.user_rate = user_rate
        self.chat_rate = chat_rate
        self.user_in_flight = user_in_flight
        self.max_sample = max_sample
        self.clock = clock

    @classmethod
    def from_settings(
        cls, redis: aioredis.Redis, settings: object, *, clock: Callable[[], float] = time.time
    ) -> AuditService:
        from bot.settings import Settings

        assert isinstance(settings, Settings)
        lim = settings.limits
        return cls(
            redis,
            prefix=settings.redis.prefix,
            cache_ttl=settings.cache.ttl_seconds,
            user_rate=(lim.user_requests, lim.user_window_seconds),
            chat_rate=(lim.chat_requests, lim.chat_window_seconds),
            user_in_flight=lim.user_in_flight,
            upload_ttl=int(min(86400, settings.history.retention_seconds)),
            upload_max_held_bytes=settings.uploads.max_held_bytes,
            max_sample=settings.sample.max,
            clock=clock,
        )

    async def submit(self, request: AuditRequest, *, trusted: bool = False) -> Submission:
        """Queue, join or answer from cache; retried through Redis outages (idempotent by
        ``request.request_id``; use ``submission.request.request_id`` from then on).

        ``trusted`` (the operator's own console) skips the per user and per chat limits; platform
        budgets still apply in the workers.
        """
        if not request.submitted_at:
            request = dataclasses.replace(request, submitted_at=self.clock())
        if not 1 <= request.sample <= self.max_sample:
            request = dataclasses.replace(
                request, sample=max(1, min(request.sample, self.max_sample))
            )
        unlimited = (1 << 30, 1.0)
        reply = await retrying(
            lambda: self.store.submit(
                request, now=self.clock(), cache_ttl=self.cache_ttl,
                user_rate=unlimited if trusted else self.user_rate,
                chat_rate=unlimited if trusted else self.chat_rate,
                user_in_flight=1 << 30 if trusted else self.user_in_flight,
            ),
            what="submit",
        )  # fmt: skip
        if reply.status == "refused":
            return _refused(request, reply.reason or "limit", reply.retry_after)
        outcome = None
        if reply.status == "cached" and reply.job_id:
            outcome = await self.result(reply.job_id)
            if outcome is None:  # expired between the two calls: ask for a fresh audit
                again = dataclasses.replace(request, fresh=True, request_id=new_id())
                return await self.submit(again, trusted=trusted)
        return Submission(
            reply.status, request, job_id=reply.job_id, position=reply.position, age=reply.age,
            outcome=outcome,
        )  # fmt: skip

    async def submit_upload(
        self,
        data: bytes | Download,
        *,
        user: str,
        chat: str,
        reply: ReplyTo,
        name: str = "upload",
        format: str = "auto",
        sample: int = 1000,
        trusted: bool = False,
        size: int | None = None,
    ) -> Submission:
        """Audit an uploaded export (CSV, JSON, JSON Lines): the file is parked in Redis for the
        worker and deleted when the audit is answered. Never coalesced or cached.

        The limits are checked first: ``data`` may be the download itself (``size``, when known,
        its declared length), called only when they allow it and the uploads held in Redis have
        room. Errors of the download propagate.
        """
        safe = "".join(c for c in name if c.isprintable())[:120] or "upload"
        request = AuditRequest(
            user=user, chat=chat, reply=reply, platform="upload", handle=safe, sample=sample,
            options={"name": safe, "format": format},
        )  # fmt: skip
        if not trusted:
            admitted = await self._admit(request)
            if admitted is not None:
                return admitted
        upload_id: str | None = None
        try:
            upload_id = await self._park(data, size)
        finally:
            if upload_id is None and not trusted:
                # Submitting ends the hold; on any other way out (full, download failed), here.
                await retrying(self.store.release_hold, request, what="upload")
        if upload_id is None:
            return _refused(request, "uploads_full", UPLOADS_FULL_RETRY_SECONDS)
        request = dataclasses.replace(request, options={**request.options, "upload": upload_id})
        submission = await self.submit(request, trusted=trusted)
        if submission.status == "refused":
            await self.uploads.delete(upload_id)
        return submission

    async def _admit(self, request: AuditRequest) -> Submission | None:
        """None when the per user and per chat limits allow the request, else its refusal."""
        reply = await retrying(
            lambda: self.store.admit(
                request, now=self.clock(), user_rate=self.user_rate, chat_rate=self.chat_rate,
                user_in_flight=self.user_in_flight, hold=UPLOAD_HOLD_SECONDS,
            ),
            what="admit",
        )  # fmt: skip
        if reply.status == "refused":
            return _refused(request, reply.reason or "limit", reply.retry_after)
        return None

    async def _park(self, data: bytes | Download, size: int | None) -> str | None:
        """Download (if need be) and store the bytes; None when the uploads held are full."""
        expected = len(data) if isinstance(data, bytes) else size
        if not await self.uploads.has_room(expected or 0):
            return None
        if not isinstance(data, bytes):
            data = await data()
        return await self.uploads.put(data)

    async def result(self, job_id: str) -> AuditOutcome | None:
        return await retrying(self.store.result, job_id, what="result")

    async def history(
        self, platform: str, handle: str, limit: int = 10
    ) -> list[tuple[str, AuditOutcome]]:
        """Finished audits of a handle, newest first, within the retention."""
        ids = await retrying(self.store.history, platform, handle, limit, what="history")
        out = []
        for job_id in ids:
            outcome = await self.result(job_id)
            if outcome is not None:
                out.append((job_id, outcome))
        return out

    async def queue_depth(self) -> int:
        return await retrying(self.store.queued, what="queued")


def _refused(request: AuditRequest, reason: str, retry_after: float | None) -> Submission:
    message = _REFUSALS.get(reason, "Too many requests.")
    if retry_after is not None:
        message += f" Try again in {max(1, int(retry_after + 0.999))} s."
    else:
        message += " Try again when it has finished."
    return Submission("refused", request, refusal=UserError(reason, message, retry_after))
