"""Reviews and labels in Redis, every value versioned JSON; with Redis's AOF all of it survives
restarts, and every call is retried through a Redis outage.

Layout (prefix ``fa:`` by default): ``review:session:<id>`` a review with its drawn accounts
(written once); ``review:pos:<id>`` a hash reviewer -> position, so each reviewer resumes where
they stopped (at most ``max_reviewers`` fields); ``review:labels:<id>`` a hash
``<index>|<reviewer>`` -> label (one per reviewer per account, a later one replacing it; at most
draw x reviewers fields); ``review:sessions:<platform>`` the reviews of an audited platform by
creation time (at most ``max_sessions``); ``review:latest:<platform>:<handle>`` the handle's latest
review; ``review:rate:<reviewer>`` the reviewer's labels in the current rate window.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar, TypeVarTuple

import redis.asyncio as aioredis

from bot.pipeline.records import stored
from bot.pipeline.resilience import retrying
from bot.pipeline.store import reply_text
from bot.review.records import LabelRecord, Reviewer, ReviewSession, StoredError

__all__ = ["LabelOutcome", "ReviewStore"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_CREATE = """
local sk, all, latest = KEYS[1], KEYS[2], KEYS[3]
if redis.call("EXISTS", sk) == 1 then
  redis.call("SET", latest, ARGV[1])
  return "exists"
end
if redis.call("ZCARD", all) >= tonumber(ARGV[4]) then return "full" end
redis.call("SET", sk, ARGV[2])
redis.call("ZADD", all, ARGV[3], ARGV[1])
redis.call("SET", latest, ARGV[1])
return "created"
"""

_JOIN = """
local pk = KEYS[1]
local pos = redis.call("HGET", pk, ARGV[1])
if pos then return tonumber(pos) end
if redis.call("HLEN", pk) >= tonumber(ARGV[2]) then return -1 end
redis.call("HSET", pk, ARGV[1], 0)
return 0
"""

# One label: the review must exist, the reviewer must have a place among its reviewers, and the
# reviewer's rate window must have room; then the label replaces the reviewer's previous one of
# that account and the position moves past it (never back).
_LABEL = """
local sk, lk, pk, rk = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local reviewer, field, body = ARGV[1], ARGV[2], ARGV[3]
local index, max_rev, limit, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]),
  tonumber(ARGV[7])
if redis.call("EXISTS", sk) == 0 then return {"gone", 0} end
local pos = redis.call("HGET", pk, reviewer)
if not pos and redis.call("HLEN", pk) >= max_rev then return {"full", 0} end
local used = tonumber(redis.call("GET", rk) or "0")
if used >= limit then
  local ttl = redis.call("PTTL", rk)
  if ttl < 0 then
    redis.call("PEXPIRE", rk, window)
    ttl = window
  end
  return {"rate", ttl}
end
if used == 0 then
  redis.call("SET", rk, 1, "PX", window)
else
  redis.call("INCR", rk)
end
redis.call("HSET", lk, field, body)
local next = math.max(tonumber(pos or "0"), index + 1)
redis.call("HSET", pk, reviewer, next)
return {"ok", next}
"""


@dataclass(frozen=True, slots=True)
class LabelOutcome:
    """``ok`` (``position`` is the reviewer's next), ``gone`` (no such review), ``full`` (the
    review has all the reviewers it may) or ``rate`` (``retry_after`` seconds)."""

    status: str
    position: int = 0
    retry_after: float = 0.0


class ReviewStore:
    """Typed reads and writes of reviews and labels; no policy here."""

    def __init__(
        self, redis: aioredis.Redis, prefix: str = "fa:", *, give_up_after: float | None = None
    ) -> None:
        """``give_up_after``: seconds a call rides out an unreachable Redis before its error is
        raised (None: until Redis is back, as a serving process wants; a command gives up)."""
        self.redis = redis
        self.prefix = prefix
        self.give_up_after = give_up_after
        self._create = redis.register_script(_CREATE)
        self._join = redis.register_script(_JOIN)
        self._label = redis.register_script(_LABEL)

    def key(self, *parts: str) -> str:
        return self.prefix + "review:" + ":".join(parts)

    async def _r(self, what: str, op: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
        """``op(*args)``, retried through a Redis outage."""
        return await retrying(op, *args, what=f"review {what}", give_up_after=self.give_up_after)

    async def create(self, session: ReviewSession, *, max_sessions: int) -> str:
        """Save a new review (``created``), or find it already there (``exists``: the review of
        that audit is shared); ``full`` when the platform has ``max_sessions`` reviews. Either
        way the handle's latest review becomes this one."""
        keys = [
            self.key("session", session.review_id),
            self.key("sessions", session.platform),
            self.key("latest", session.platform, session.handle),
        ]
        args: list[str | int] = [
            session.review_id, session.to_json(), repr(session.created_at), max_sessions,
        ]  # fmt: skip
        return reply_text(await self._r("create", self._create, keys, args))

    async def session(self, review_id: str) -> ReviewSession | None:
        raw = await self._r("session", self.redis.get, self.key("session", review_id))
        return stored(raw, ReviewSession.from_json, StoredError, None)

    async def latest(self, platform: str, handle: str) -> str | None:
        raw = await self._r("latest", self.redis.get, self.key("latest", platform, handle))
        return None if raw is None else reply_text(raw)

    async def review_ids(self, platform: str) -> list[str]:
        """The platform's reviews, oldest first."""
        raw = await self._r("ids", self.redis.zrange, self.key("sessions", platform), 0, -1)
        return [reply_text(r) for r in raw]

    async def platforms(self) -> list[str]:
        """Every audited platform with a review (a bounded scan of the index keys)."""
        pattern = self.key("sessions", "*")
        found: set[str] = set()

        async def scan() -> set[str]:
            async for k in self.redis.scan_iter(match=pattern, count=100):
                found.add(reply_text(k).rsplit(":", 1)[-1])
                if len(found) >= 64:
                    break
            return found

        return sorted(await self._r("platforms", scan))

    async def join(self, review_id: str, reviewer: Reviewer, *, max_reviewers: int) -> int | None:
        """The reviewer's position in the review (0 for a newcomer); None when the review has
        ``max_reviewers`` other reviewers already."""
        keys = [self.key("pos", review_id)]
        args: list[str | int] = [reviewer.key, max_reviewers]
        pos = int(await self._r("join", self._join, keys, args))
        return None if pos < 0 else pos

    async def label(
        self, record: LabelRecord, *, max_reviewers: int, rate_limit: int, window_seconds: float
    ) -> LabelOutcome:
        keys = [
            self.key("session", record.review_id),
            self.key("labels", record.review_id),
            self.key("pos", record.review_id),
            self.key("rate", record.reviewer.key),
        ]
        args: list[str | int] = [
            record.reviewer.key, record.field, record.to_json(), record.index, max_reviewers,
            rate_limit, max(1, int(window_seconds * 1000)),
        ]  # fmt: skip
        status, value = await self._r("label", self._label, keys, args)
        status = reply_text(status)
        if status == "rate":
            return LabelOutcome(status, retry_after=int(value) / 1000)
        return LabelOutcome(status, position=int(value))

    async def labels(self, review_id: str) -> list[LabelRecord]:
        """Every label of the review (unreadable ones skipped), by account then reviewer."""
        raw = await self._r("labels", self.redis.hvals, self.key("labels", review_id))
        out = []
        for value in raw:
            try:
                out.append(LabelRecord.from_json(value))
            except StoredError:
                continue
        return sorted(out, key=lambda r: (r.index, r.reviewer.key))

    async def positions(self, review_id: str) -> dict[str, int]:
        raw = await self._r("positions", self.redis.hgetall, self.key("pos", review_id))
        return {reply_text(k): int(v) for k, v in raw.items()}
