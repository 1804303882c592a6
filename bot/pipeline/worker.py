"""Workers: take audits from the queue stream, run them with heartbeats, answer exactly once.

A running audit's queue entry stays in the consumer group's pending list; the worker renews it
(XCLAIM to itself) every quarter of ``stall_seconds`` whatever the audit awaits, and every worker
takes over entries idle longer than ``stall_seconds`` (XAUTOCLAIM), resuming from the audit's
checkpoint. The finish script answers every waiter and acknowledges the entry atomically, and does
nothing for a job already answered, so each request gets one answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from bot.infra.logs import bind
from bot.pipeline.messages import (
    VERSION,
    AuditJob,
    AuditOutcome,
    MessageError,
    dumps,
    loads,
    new_id,
)
from bot.pipeline.metrics import Metrics
from bot.pipeline.resilience import Stopped, pause, retrying
from bot.pipeline.runner import (
    AUDIT_DEADLINE,
    AuditRunner,
    TransientAuditError,
    UserFacingError,
)
from bot.pipeline.samples import SampleStore, ScoredSample
from bot.pipeline.store import WORKER_GROUP, Store, reply_text
from bot.pipeline.uploads import UploadStore
from bot.settings import Settings

__all__ = ["RedisCheckpoint", "Worker"]

log = logging.getLogger("followaudit.worker")

#: Backoff between attempts never exceeds this (a platform's own retry time may).
MAX_BACKOFF_SECONDS = 60.0
#: Consumers of exited workers are forgotten after a day idle with nothing pending.
CLEANUP_INTERVAL_SECONDS = 600.0
DEAD_CONSUMER_IDLE_MS = 86_400_000


class RedisCheckpoint:
    """The audit's resumable state in Redis; only the job's current owner may save."""

    def __init__(
        self, store: Store, job_id: str, owner: str, ttl: int, min_interval: float = 0.0
    ) -> None:
        self.store, self.job_id, self.owner, self.ttl = store, job_id, owner, ttl
        self.min_interval = min_interval
        self.saves = 0
        self._last = float("-inf")

    async def load(self) -> dict[str, Any] | None:
        raw = await retrying(self.store.load_checkpoint, self.job_id, what="checkpoint")
        if raw is None:
            return None
        try:
            state = loads(raw).get("state")
        except MessageError:
            log.warning("unreadable checkpoint ignored")
            return None
        return state if isinstance(state, dict) else None

    async def save(self, state: dict[str, Any]) -> None:
        """Save, unless the last save is more recent than ``min_interval`` (a takeover then
        resumes from that one: a little refetching for far fewer writes)."""
        now = time.monotonic()
        if now - self._last < self.min_interval:
            return
        self._last = now
        data = dumps({"v": VERSION, "state": state})
        await retrying(
            self.store.save_checkpoint, self.job_id, self.owner, data, self.ttl, what="checkpoint"
        )
        self.saves += 1


class _Progress:
    """Publishes progress to every waiter, at most every ``interval`` unless the stage changes."""

    def __init__(self, worker: Worker, job: AuditJob) -> None:
        self.worker, self.job = worker, job
        self.stage: str | None = None
        self.last = 0.0
        self.seq = 0

    async def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        now = time.monotonic()
        final = done is not None and total is not None and done >= total
        if stage == self.stage and not final and now - self.last < self.worker.progress_interval:
            return
        self.stage, self.last = stage, now
        self.seq += 1
        payload = {"stage": stage, "done": done, "total": total}
        await retrying(
            self.worker.store.progress, self.job.job_id, self.worker.name, payload, f"p{self.seq}",
            self.worker.settings.delivery.stream_max_len, what="progress",
        )  # fmt: skip


class Worker:
    """Runs up to ``worker.concurrency`` audits at a time from the shared queue."""

    def __init__(
        self,
        redis: aioredis.Redis,
        settings: Settings,
        runner: AuditRunner,
        *,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
        name: str | None = None,
        started: asyncio.Event | None = None,
    ) -> None:
        self.settings = settings
        self.store = Store(redis, settings.redis.prefix)
        self.samples = SampleStore(
            redis, settings.redis.prefix, ttl=settings.history.retention_seconds, give_up_after=30
        )
        self.runner = runner
        self.clock = clock
        self.metrics = metrics or Metrics()
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{new_id()[:6]}"
        ws = settings.worker
        self.concurrency = ws.concurrency
        self.stall_ms = max(1, int(ws.stall_seconds * 1000))
        self.beat_interval = ws.stall_seconds / 4
        self.claim_interval = ws.stall_seconds / 4
        self.block_ms = max(1, int(min(1.0, self.claim_interval) * 1000))
        self.progress_interval = ws.progress_interval_seconds
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._lost: set[str] = set()
        self._slot_freed = asyncio.Event()
        #: Set once the worker reads the queue.
        self.started = started or asyncio.Event()
        self._stop = asyncio.Event()
        self.audits_started = 0

    # -- main loop --------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None, *, burst: bool = False) -> None:
        """Work until ``stop`` is set (then finish or hand back running audits). With ``burst``,
        return as soon as nothing is queued, pending or running."""
        self._stop = stop = stop or asyncio.Event()
        try:
            await retrying(
                self.store.ensure_group, self.store.stream, WORKER_GROUP, what="group", stop=stop
            )
        except Stopped:
            log.info("worker stopped before redis answered", extra={"worker": self.name})
            return
        beat = asyncio.create_task(self._heartbeat_loop(), name=f"heartbeat-{self.name}")
        self.started.set()
        log.info("worker started", extra={"worker": self.name, "concurrency": self.concurrency})
        try:
            await self._loop(stop, burst)
        except Stopped:
            log.info("redis unavailable while stopping", extra={"worker": self.name})
        finally:
            await self._shutdown()
            beat.cancel()
            await asyncio.wait([beat], timeout=5)
            log.info("worker stopped", extra={"worker": self.name})

    async def _loop(self, stop: asyncio.Event, burst: bool) -> None:
        """Read and claim entries, start their audits, until ``stop`` (or, in burst, idle)."""
        next_claim = 0.0
        next_cleanup = time.monotonic() + CLEANUP_INTERVAL_SECONDS
        while not stop.is_set():
            free = self.concurrency - len(self._tasks)
            if free <= 0:
                self._slot_freed.clear()
                await _wait_any(self._slot_freed, stop)
                continue
            entries: list[tuple[str, dict[bytes, bytes]]] = []
            loop_now = time.monotonic()
            if loop_now >= next_claim:
                next_claim = loop_now + self.claim_interval
                entries = await retrying(self._autoclaim, free, what="autoclaim", stop=stop)
                if loop_now >= next_cleanup:
                    next_cleanup = loop_now + CLEANUP_INTERVAL_SECONDS
                    await retrying(self._forget_dead_consumers, what="cleanup", stop=stop)
                taken = [e for e in entries if e[0] not in self._tasks]
                if taken:
                    self.metrics.takeovers.inc(len(taken))
                    log.info("took over stalled audits", extra={"count": len(taken)})
            if not entries:
                entries = await retrying(self._read, free, self.block_ms, what="read", stop=stop)
            for msg_id, fields in entries:
                self._spawn(msg_id, fields)
            if burst and not entries and not self._tasks and not await self._pending():
                break

    async def _read(self, count: int, block: int | None) -> list[tuple[str, dict[bytes, bytes]]]:
        streams = {self.store.stream: ">"}
        reply = await self.store.redis.xreadgroup(
            WORKER_GROUP, self.name, streams, count=count, block=block
        )
        out: list[tuple[str, dict[bytes, bytes]]] = []
        for _stream, entries in reply or []:
            for msg_id, fields in entries:
                out.append((reply_text(msg_id), fields or {}))
        return out

    async def _autoclaim(self, count: int) -> list[tuple[str, dict[bytes, bytes]]]:
        reply = await self.store.redis.xautoclaim(
            self.store.stream, WORKER_GROUP, self.name, self.stall_ms, "0-0", count=count
        )
        return [
            (reply_text(msg_id), fields or {}) for msg_id, fields in reply[1] if msg_id is not None
        ]

    async def _forget_dead_consumers(self) -> None:
        """Remove consumers (workers that exited) idle for a day with nothing pending."""
        for info in await self.store.redis.xinfo_consumers(self.store.stream, WORKER_GROUP):
            name = reply_text(info["name"])
            if info["pending"] == 0 and info["idle"] > DEAD_CONSUMER_IDLE_MS and name != self.name:
                await self.store.redis.xgroup_delconsumer(self.store.stream, WORKER_GROUP, name)

    async def _pending(self) -> int:
        async def count() -> int:
            info = await self.store.redis.xpending(self.store.stream, WORKER_GROUP)
            return int(info["pending"])

        return await retrying(count, what="pending")

    def _spawn(self, msg_id: str, fields: dict[bytes, bytes]) -> None:
        if msg_id in self._tasks:
            # Our own running entry came back from XAUTOCLAIM (Redis was unreachable for longer
            # than the stall period): it is still ours and still running, so nothing to start.
            return
        task = asyncio.create_task(self._handle(msg_id, fields), name=f"audit-{msg_id}")
        self._tasks[msg_id] = task
        self.metrics.running.set(len(self._tasks))

        def done(_: asyncio.Task[None]) -> None:
            self._tasks.pop(msg_id, None)
            self._lost.discard(msg_id)
            self.metrics.running.set(len(self._tasks))
            self._slot_freed.set()

        task.add_done_callback(done)

    # -- heartbeats -------------------------------------------------------------------------
    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.beat_interval)  # the heartbeat period itself
            ids = [i for i in self._tasks if i not in self._lost]
            try:
                lost = await retrying(self.store.heartbeat, self.name, ids, what="heartbeat")
                self.metrics.queue_depth.set(await retrying(self.store.queued, what="queued"))
            except Stopped:
                return
            except Exception:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from None
                log.exception("heartbeat failed")
                continue
            for msg_id in lost:
                task = self._tasks.get(msg_id)
                if task is not None and not task.done():
                    log.warning("audit taken over by another worker; stopping here",
                                extra={"msg_id": msg_id})  # fmt: skip
                    self._lost.add(msg_id)
                    task.cancel()

    # -- one audit --------------------------------------------------------------------------
    async def _handle(self, msg_id: str, fields: dict[bytes, bytes]) -> None:
        raw = fields.get(b"job")
        try:
            if raw is None:
                raise MessageError("queue entry has no 'job' field")
            job = AuditJob.from_json(raw)
        except MessageError as exc:
            await self._dead_letter(msg_id, fields, str(exc))
            return
        with bind(job_id=job.job_id, platform=job.platform, handle=job.handle):
            try:
                await self._audit(msg_id, fields, job)
            except asyncio.CancelledError:
                raise
            except Stopped:
                await self._hand_back(msg_id)
            except Exception:
                log.exception("audit handling failed; left for takeover")

    async def _dead_letter(self, msg_id: str, fields: dict[bytes, bytes], reason: str) -> None:
        log.error("malformed queue entry moved to dead letters",
                  extra={"msg_id": msg_id, "reason": reason})  # fmt: skip
        await retrying(self.store.dead_letter, msg_id, fields, reason, what="dead-letter")
        self.metrics.dead_letters.inc()

    async def _audit(self, msg_id: str, fields: dict[bytes, bytes], job: AuditJob) -> None:
        state, attempts = await retrying(
            lambda: self.store.start(job.job_id, self.name, self.clock()), what="start"
        )
        if state == "missing":
            await self._dead_letter(msg_id, fields, "no such job")
            return
        if state == "done":
            await retrying(self._finish, job, msg_id, AuditOutcome(), what="finish")
            return
        self.audits_started += 1
        if attempts == 1:
            self.metrics.queue_wait_seconds.observe(max(0.0, self.clock() - job.created_at))
        log.info("audit started", extra={"attempt": attempts, "worker": self.name})
        if attempts > self.settings.worker.max_deliveries:
            outcome = AuditOutcome.failure(
                "failed", "This audit failed repeatedly; please try again later."
            )
            await self._dead_letter_copy(msg_id, fields, f"gave up after {attempts - 1} tries")
        else:
            started = time.monotonic()
            outcome = await self._run(job)
            self.metrics.audit_seconds.observe(time.monotonic() - started)
            if outcome.ok and outcome.sample is not None:
                await self._keep_sample(outcome.sample)
        outcome = dataclasses.replace(outcome, finished_at=self.clock(), sample=None)
        answered = await retrying(self._finish, job, msg_id, outcome, what="finish")
        upload = job.options.get("upload")
        if isinstance(upload, str):
            await UploadStore(self.store.redis, self.store.prefix).delete(upload)
        self.metrics.audits.labels("ok" if outcome.ok else outcome.error.code).inc()  # type: ignore[union-attr]
        log.info("audit finished",
                 extra={"ok": outcome.ok, "answers": answered, "attempt": attempts})  # fmt: skip

    async def _keep_sample(self, sample: ScoredSample) -> None:
        """Keep the audit's scored sample for reviews (``/review``), before the answer goes out
        (so a review right after the report finds it); a failure (Redis away for 30 s) is
        logged and the answer goes out anyway."""
        try:
            body = await asyncio.to_thread(sample.to_json)
            if not await self.samples.put(sample, body):
                log.warning("scored sample too large to keep", extra={"chars": len(body)})
        except Exception:
            log.exception("scored sample not kept")

    async def _dead_letter_copy(self, msg_id: str, fields: dict[bytes, bytes], reason: str) -> None:
        entry = dict(fields)
        entry[b"dead_reason"], entry[b"dead_id"] = reason.encode(), msg_id.encode()
        await retrying(
            lambda: self.store.redis.xadd(self.store.dead, entry, maxlen=10_000, approximate=True),  # type: ignore[arg-type]
            what="dead-letter",
        )
        self.metrics.dead_letters.inc()
        log.error("audit dead-lettered", extra={"msg_id": msg_id, "reason": reason})

    async def _finish(self, job: AuditJob, msg_id: str, outcome: AuditOutcome) -> int:
        s = self.settings
        return await self.store.finish(
            job, msg_id, outcome, now=self.clock(), cache_ttl=s.cache.ttl_seconds,
            retention=s.history.retention_seconds, history_max=s.history.max_per_handle,
            maxlen=s.delivery.stream_max_len,
        )  # fmt: skip

    async def _run(self, job: AuditJob) -> AuditOutcome:
        """Run the audit, retrying transient errors, all within ``audit_deadline_seconds``."""
        ws = self.settings.worker
        checkpoint = RedisCheckpoint(
            self.store,
            job.job_id,
            self.name,
            int(self.settings.history.retention_seconds),
            ws.checkpoint_interval_seconds,
        )
        progress = _Progress(self, job)
        deadline = time.monotonic() + ws.audit_deadline_seconds
        token = AUDIT_DEADLINE.set(deadline)
        try:
            async with asyncio.timeout(ws.audit_deadline_seconds):
                return await self._attempts(job, progress, checkpoint, deadline)
        except TimeoutError:
            log.error("audit timed out", extra={"deadline": ws.audit_deadline_seconds})
            return AuditOutcome.failure(
                "timeout", "This audit took too long; please try again later."
            )
        finally:
            AUDIT_DEADLINE.reset(token)

    async def _attempts(
        self, job: AuditJob, progress: _Progress, checkpoint: RedisCheckpoint, deadline: float
    ) -> AuditOutcome:
        """Attempts with backoff; a wait that would end past ``deadline`` (monotonic) is not
        begun: the last error is answered at once, with the platform's time to retry."""
        ws = self.settings.worker
        for attempt in range(ws.retries + 1):
            try:
                async with asyncio.timeout(ws.audit_timeout_seconds):
                    return await self.runner.run(job, progress, checkpoint)
            except UserFacingError as exc:
                return AuditOutcome.failure(exc.code, exc.message, exc.retry_after)
            except TransientAuditError as exc:
                self.metrics.platform_errors.labels(job.platform).inc()
                log.warning("transient platform error",
                            extra={"error": exc.message, "attempt": attempt + 1})  # fmt: skip
                backoff = min(MAX_BACKOFF_SECONDS, ws.retry_base_seconds * 2**attempt)
                delay = max(backoff, exc.retry_after or 0)
                if attempt == ws.retries or time.monotonic() + delay >= deadline:
                    return AuditOutcome.failure("unavailable", exc.message, exc.retry_after)
                await pause(delay, self._stop)
        raise AssertionError("unreachable")

    # -- shutdown ---------------------------------------------------------------------------
    async def _shutdown(self) -> None:
        """Let running audits finish within the grace period, then hand the rest back."""
        if not self._tasks:
            return
        grace = self.settings.worker.shutdown_grace_seconds
        log.info("waiting for running audits", extra={"running": len(self._tasks), "grace": grace})
        _done, pending = await asyncio.wait(list(self._tasks.values()), timeout=grace)
        ids = [i for i, t in self._tasks.items() if t in pending]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for msg_id in ids:
            await self._hand_back(msg_id)

    async def _hand_back(self, msg_id: str) -> None:
        """Release a running entry so the next XAUTOCLAIM (any worker) takes it at once."""
        try:
            await retrying(
                self.store.release, self.name, msg_id, self.stall_ms * 10,
                what="release", give_up_after=5,
            )  # fmt: skip
            log.info("audit handed back to the queue", extra={"msg_id": msg_id})
        except Exception:
            log.warning("could not hand back; it will be taken over when stalled",
                        extra={"msg_id": msg_id})  # fmt: skip


async def _wait_any(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
