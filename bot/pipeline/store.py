"""The pipeline's Redis layout and the atomic steps on it (see ``scripts``).

Layout (prefix ``fa:`` by default): ``audits`` is the queue stream (group ``workers``);
``job:<id>`` a hash with its ``:waiters`` list and ``:ckpt`` checkpoint; ``inflight:<platform>:
<handle>`` points at the running audit of a handle (and its sample), ``cache:<platform>:<handle>:
<sample>`` at the last finished one;
``result:<id>`` an outcome; ``history:<platform>:<handle>`` finished job ids by time;
``deliver:<adapter>`` a chat adapter's stream (group ``adapter``); ``audits:dead`` dead letters;
``rl:user:<u>``/``rl:chat:<c>`` rate windows, ``busy:<u>`` a user's audits in flight,
``req:<id>`` a submit's remembered reply, ``budget:<platform>:rate|slots`` platform budgets
(``budget:<platform>:<host>:rate|slots`` and ``budget:<platform>:hosts`` for one kept per host),
``upload:<id>`` a parked export, ``delivered:<adapter>:<id>`` delivered markers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bot.pipeline import scripts
from bot.pipeline.messages import AuditJob, AuditOutcome, AuditRequest, audited, dumps, new_id

__all__ = ["ADAPTER_GROUP", "WORKER_GROUP", "Store", "SubmitReply", "reply_text"]

WORKER_GROUP = "workers"
ADAPTER_GROUP = "adapter"
#: How long a submit's reply is remembered, so a retry after a lost reply is not a second request.
REQUEST_MEMORY_SECONDS = 3600
#: How long a finished job's hash stays (it tells a stale worker that the job was answered).
JOB_MEMORY_SECONDS = 86400


def reply_text(value: Any) -> str:
    """A Redis reply as text, whether the client decodes replies or returns bytes."""
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class SubmitReply:
    status: str  # queued | coalesced | cached | refused
    job_id: str | None = None
    position: int | None = None
    age: float | None = None
    stage: str | None = None
    reason: str | None = None
    retry_after: float | None = None


class Store:
    """Thin typed wrappers around the scripts and stream commands; no policy here."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "fa:") -> None:
        self.redis = redis
        self.prefix = prefix
        self.stream = f"{prefix}audits"
        self.dead = f"{prefix}audits:dead"
        self._submit = redis.register_script(scripts.SUBMIT)
        self._start = redis.register_script(scripts.START)
        self._heartbeat = redis.register_script(scripts.HEARTBEAT)
        self._progress = redis.register_script(scripts.PROGRESS)
        self._checkpoint = redis.register_script(scripts.CHECKPOINT)
        self._finish = redis.register_script(scripts.FINISH)
        self._budget = redis.register_script(scripts.BUDGET_ACQUIRE)
        self._budget_release = redis.register_script(scripts.BUDGET_RELEASE)
        self._admit = redis.register_script(scripts.ADMIT)

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def delivery_stream(self, adapter: str) -> str:
        return self.key("deliver", adapter)

    # -- groups -----------------------------------------------------------------------------
    async def ensure_group(self, stream: str, group: str) -> None:
        """Create the consumer group (and stream) if missing; harmless when it exists."""
        try:
            await self.redis.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    # -- submit -----------------------------------------------------------------------------
    async def submit(
        self,
        request: AuditRequest,
        *,
        now: float,
        cache_ttl: float,
        user_rate: tuple[int, float],
        chat_rate: tuple[int, float],
        user_in_flight: int,
    ) -> SubmitReply:
        job = AuditJob(job_id=new_id(), **audited(request), created_at=now)
        raw = await self._submit(
            args=[
                self.prefix, dumps(request.to_dict()), request.request_id, request.user,
                request.chat, request.coalesce_key if request.coalescable else "",
                "1" if request.fresh else "0", repr(now), repr(cache_ttl),
                user_rate[0], repr(user_rate[1]), chat_rate[0], repr(chat_rate[1]),
                user_in_flight, job.job_id, job.to_json(), REQUEST_MEMORY_SECONDS,
                request.handle_key if request.coalescable else "", request.sample,
            ]
        )  # fmt: skip
        obj = json.loads(raw)
        return SubmitReply(
            status=obj["status"],
            job_id=obj.get("job_id"),
            position=obj.get("position"),
            age=obj.get("age"),
            stage=obj.get("stage"),
            reason=obj.get("reason"),
            retry_after=obj.get("retry_after"),
        )

    async def admit(
        self, request: AuditRequest, *, now: float, user_rate: tuple[int, float],
        chat_rate: tuple[int, float], user_in_flight: int, hold: float,
    ) -> SubmitReply:  # fmt: skip
        """The limits ``submit`` will apply, checked before an upload is fetched: ``admitted``
        (an in-flight slot is held for the request for ``hold`` seconds) or ``refused``."""
        raw = await self._admit(
            args=[
                self.prefix, request.request_id, request.user, request.chat, repr(now),
                user_rate[0], repr(user_rate[1]), chat_rate[0], repr(chat_rate[1]),
                user_in_flight, repr(hold),
            ]
        )  # fmt: skip
        obj = json.loads(raw)
        return SubmitReply(obj["status"], reason=obj.get("reason"),
                           retry_after=obj.get("retry_after"))  # fmt: skip

    async def release_hold(self, request: AuditRequest) -> None:
        """Free the in-flight slot ``admit`` held for a request that will not be submitted."""
        await self.redis.zrem(self.key("hold", request.user), request.request_id)

    # -- worker side ------------------------------------------------------------------------
    async def start(self, job_id: str, consumer: str, now: float) -> tuple[str, int]:
        state, attempts = await self._start(args=[self.prefix, job_id, consumer, repr(now)])
        return reply_text(state), int(attempts)

    async def heartbeat(self, consumer: str, msg_ids: list[str]) -> list[str]:
        """Renew the given entries; return those this consumer no longer owns."""
        if not msg_ids:
            return []
        lost = await self._heartbeat(keys=[self.stream], args=[WORKER_GROUP, consumer, *msg_ids])
        return [reply_text(x) for x in lost]

    async def progress(
        self, job_id: str, owner: str, payload: dict[str, Any], tag: str, maxlen: int
    ) -> int:
        return int(
            await self._progress(
                args=[self.prefix, job_id, owner, payload["stage"], dumps(payload), tag, maxlen]
            )
        )

    async def save_checkpoint(self, job_id: str, owner: str, data: str, ttl: int) -> bool:
        return bool(await self._checkpoint(args=[self.prefix, job_id, owner, data, ttl]))

    async def load_checkpoint(self, job_id: str) -> str | None:
        raw = await self.redis.get(self.key("job", job_id, "ckpt"))
        return None if raw is None else reply_text(raw)

    async def finish(
        self,
        job: AuditJob,
        msg_id: str,
        outcome: AuditOutcome,
        *,
        now: float,
        cache_ttl: float,
        retention: float,
        history_max: int,
        maxlen: int,
    ) -> int:
        return int(
            await self._finish(
                args=[
                    self.prefix, job.job_id, msg_id, outcome.to_json(), repr(now),
                    "1" if outcome.ok else "0", repr(cache_ttl), repr(retention), history_max,
                    job.platform, job.handle, maxlen,
                    max(1, min(JOB_MEMORY_SECONDS, int(retention))),
                ]
            )
        )  # fmt: skip

    async def dead_letter(self, msg_id: str, fields: dict[bytes, bytes], reason: str) -> None:
        """Move a queue entry to the dead-letter stream (kept bounded) and acknowledge it."""
        entry = {k: v for k, v in fields.items()} or {b"empty": b""}
        entry[b"dead_reason"] = reason.encode()
        entry[b"dead_id"] = msg_id.encode()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.dead, entry, maxlen=10_000, approximate=True)
            pipe.xack(self.stream, WORKER_GROUP, msg_id)
            pipe.xdel(self.stream, msg_id)
            await pipe.execute()

    async def release(self, consumer: str, msg_id: str, idle_ms: int) -> None:
        """Hand a running entry back: mark it idle so the next XAUTOCLAIM takes it at once."""
        await self.redis.xclaim(
            self.stream, WORKER_GROUP, consumer, 0, [msg_id], idle=idle_ms, justid=True
        )

    async def acquire_budget(
        self, platform: str, *, now: float, requests: int, window: float, concurrency: int,
        lease: float, token: str, host: str | None = None, max_hosts: int = 0,
    ) -> float:  # fmt: skip
        """Take a lease of the platform's budget (of ``host``'s, with at most ``max_hosts``
        hosts in flight, when given); 0, or the seconds to wait."""
        scope = (platform,) if host is None else (platform, host)
        wait = await self._budget(
            keys=[self.key("budget", *scope, "rate"), self.key("budget", *scope, "slots"),
                  self.key("budget", platform, "hosts")],
            args=[repr(now), requests, repr(window), concurrency, repr(lease), token, host or "",
                  max_hosts if host is not None else 0],
        )  # fmt: skip
        return float(reply_text(wait))

    async def release_budget(
        self, platform: str, token: str, host: str | None = None, *, now: float = 0.0
    ) -> None:
        if host is None:
            await self.redis.zrem(self.key("budget", platform, "slots"), token)
            return
        slots = self.key("budget", platform, host, "slots")
        hosts = self.key("budget", platform, "hosts")
        await self._budget_release(keys=[slots, hosts], args=[token, host, repr(now)])

    # -- reading ----------------------------------------------------------------------------
    async def result(self, job_id: str) -> AuditOutcome | None:
        raw = await self.redis.get(self.key("result", job_id))
        return None if raw is None else AuditOutcome.from_json(raw)

    async def history(self, platform: str, handle: str, limit: int = 10) -> list[str]:
        """Finished job ids for a handle, newest first."""
        ids = await self.redis.zrevrange(self.key("history", platform, handle), 0, limit - 1)
        return [reply_text(x) for x in ids]

    async def queued(self) -> int:
        raw = await self.redis.get(self.key("queued"))
        return int(raw or 0)

    async def job_info(self, job_id: str) -> dict[str, str]:
        raw = await self.redis.hgetall(self.key("job", job_id))
        return {reply_text(k): reply_text(v) for k, v in raw.items()}
