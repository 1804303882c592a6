"""Watches, their audit history, alerted bursts and alert destinations in Redis.

Layout (prefix ``fa:`` by default): ``alerts:watch:<id>`` a watch (JSON); ``alerts:chat:<chat>``
and ``alerts:server:<server>`` sets of watch ids (bounded); ``alerts:all`` every watch id;
``alerts:due`` a sorted set of watch ids by next due time; ``alerts:hist:<id>`` the watch's audit
snapshots, newest first (bounded); ``alerts:alerted:<id>`` member keys of bursts already alerted;
``alerts:dest:<chat>`` where alerts of a chat go; ``alerts:prefs:<chat>`` whether they are paused
and how often the chat's watches are re-audited. Every value is versioned JSON. With Redis's AOF
all of it survives restarts.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar, TypeVarTuple

import redis.asyncio as aioredis

from bot.alerts.model import VERSION, ChatPrefs, ChatRef, StoredError, Watch
from bot.pipeline.records import stored
from bot.pipeline.resilience import retrying
from bot.pipeline.store import reply_text
from scoring.audit.compare import Snapshot

__all__ = ["AddResult", "WatchStore"]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

_ADD = """
local wk, ck, sk, due, all = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local id, json, max_chat, max_server, at = ARGV[1], ARGV[2], tonumber(ARGV[3]),
  tonumber(ARGV[4]), ARGV[5]
if redis.call("EXISTS", wk) == 1 then
  redis.call("SET", wk, json)
  return "updated"
end
if redis.call("SCARD", ck) >= max_chat then return "chat_full" end
if redis.call("SCARD", sk) >= max_server then return "server_full" end
redis.call("SET", wk, json)
redis.call("SADD", ck, id)
redis.call("SADD", sk, id)
redis.call("SADD", all, id)
redis.call("ZADD", due, at, id)
return "added"
"""

_RECORD = """
local wk, hk, ak = KEYS[1], KEYS[2], KEYS[3]
if redis.call("EXISTS", wk) == 0 then return 0 end
redis.call("SET", wk, ARGV[1])
redis.call("LPUSH", hk, ARGV[2])
redis.call("LTRIM", hk, 0, tonumber(ARGV[3]) - 1)
if ARGV[4] ~= "" then redis.call("SET", ak, ARGV[4]) end
return 1
"""

AddResult = str  # added | updated | chat_full | server_full


class WatchStore:
    """Typed reads and writes; every call is retried through Redis outages (all idempotent)."""

    def __init__(self, redis: aioredis.Redis, prefix: str = "fa:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._add = redis.register_script(_ADD)
        self._record = redis.register_script(_RECORD)

    def key(self, *parts: str) -> str:
        return self.prefix + "alerts:" + ":".join(parts)

    async def _r(self, what: str, op: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
        """``op(*args)``, retried through a Redis outage."""
        return await retrying(op, *args, what=f"alerts {what}")

    # -- watches ----------------------------------------------------------------------------
    async def add(self, watch: Watch, *, due: float, max_chat: int, max_server: int) -> AddResult:
        """Add a watch within the chat's and server's bounds (atomic); an existing watch of the
        same chat and account is updated in place (its schedule and history kept)."""
        keys = [
            self.key("watch", watch.id), self.key("chat", watch.chat.key),
            self.key("server", watch.chat.server_key), self.key("due"), self.key("all"),
        ]  # fmt: skip
        args = [watch.id, watch.to_json(), max_chat, max_server, repr(due)]
        return reply_text(await self._r("add", self._add, keys, args))

    async def get(self, watch_id: str) -> Watch | None:
        raw = await self._r("get", self.redis.get, self.key("watch", watch_id))
        return stored(raw, Watch.from_json, StoredError, None)

    async def put(self, watch: Watch) -> None:
        """Save a watch that exists (state changes); a removed watch stays removed."""
        await self._r(
            "put", lambda: self.redis.set(self.key("watch", watch.id), watch.to_json(), xx=True)
        )

    async def remove(self, watch: Watch) -> bool:
        async def op() -> bool:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(self.key("watch", watch.id))
                pipe.srem(self.key("chat", watch.chat.key), watch.id)
                pipe.srem(self.key("server", watch.chat.server_key), watch.id)
                pipe.srem(self.key("all"), watch.id)
                pipe.zrem(self.key("due"), watch.id)
                pipe.delete(self.key("hist", watch.id), self.key("alerted", watch.id))
                replies = await pipe.execute()
            return bool(replies[0])

        return await self._r("remove", op)

    async def _many(self, ids: Sequence[str]) -> list[Watch]:
        if not ids:
            return []
        keys = [self.key("watch", i) for i in ids]
        raws = await self._r("mget", self.redis.mget, keys)
        watches = (stored(raw, Watch.from_json, StoredError, None) for raw in raws)
        return [w for w in watches if w is not None]

    async def in_chat(self, chat: ChatRef) -> list[Watch]:
        ids = await self._r("in_chat", self.redis.smembers, self.key("chat", chat.key))
        watches = await self._many(sorted(reply_text(i) for i in ids))
        return sorted(watches, key=lambda w: (w.platform, w.handle))

    async def all_ids(self) -> list[str]:
        ids = await self._r("all", self.redis.smembers, self.key("all"))
        return sorted(reply_text(i) for i in ids)

    async def all(self) -> list[Watch]:
        return await self._many(await self.all_ids())

    # -- schedule ---------------------------------------------------------------------------
    async def due_ids(self, now: float, limit: int = 10_000) -> list[str]:
        raw = await self._r(
            "due", self.redis.zrangebyscore, self.key("due"), "-inf", repr(now), 0, limit
        )
        return [reply_text(i) for i in raw]

    async def due_at(self, watch_id: str) -> float | None:
        score = await self._r("due_at", self.redis.zscore, self.key("due"), watch_id)
        return None if score is None else float(score)

    async def next_due_at(self) -> float | None:
        first = await self._r(
            "next_due", lambda: self.redis.zrange(self.key("due"), 0, 0, withscores=True)
        )
        return float(first[0][1]) if first else None

    async def reschedule(self, watch_id: str, at: float) -> None:
        """Move the next due time of an existing watch (XX: never re-adds a removed one)."""
        await self._r("sched", lambda: self.redis.zadd(self.key("due"), {watch_id: at}, xx=True))

    async def claim(self, watch_id: str, seconds: int) -> bool:
        """Take a watch for one run, so concurrent runners (cron and a serving loop) do not both
        re-audit it; the claim expires if this runner dies."""
        key = self.key("claim", watch_id)
        return bool(await self._r("claim", lambda: self.redis.set(key, "1", nx=True, ex=seconds)))

    async def unclaim(self, watch_id: str) -> None:
        await self._r("unclaim", self.redis.delete, self.key("claim", watch_id))

    # -- history and alerted bursts ---------------------------------------------------------
    async def history(self, watch_id: str, limit: int = 100) -> list[Snapshot]:
        """Snapshots oldest first (the previous audit last)."""
        raws = await self._r("history", self.redis.lrange, self.key("hist", watch_id), 0, limit - 1)
        out = []
        for raw in reversed(raws):
            try:
                out.append(Snapshot.from_dict(json.loads(raw)))
            except (ValueError, TypeError):
                continue
        return out

    async def alerted(self, watch_id: str) -> list[list[str]]:
        raw = await self._r("alerted", self.redis.get, self.key("alerted", watch_id))
        if raw is None:
            return []
        try:
            obj = json.loads(raw)
        except ValueError:
            return []
        bursts = obj.get("bursts") if isinstance(obj, dict) and obj.get("v") == VERSION else None
        if not isinstance(bursts, list):
            return []
        return [[m for m in b if isinstance(m, str)] for b in bursts if isinstance(b, list)]

    async def record(
        self,
        watch: Watch,
        snapshot: Snapshot,
        *,
        keep: int,
        alerted: list[list[str]] | None = None,
        max_alerted: int = 5000,
    ) -> bool:
        """Save a re-audit: the watch's new state, its snapshot, and newly alerted bursts
        (appended; the oldest forgotten beyond ``max_alerted`` member keys), atomically; False
        (nothing saved) when the watch was removed meanwhile."""
        previous = await self.alerted(watch.id) if alerted else []
        merged: list[list[str]] = []
        if alerted:
            budget = max_alerted
            for members in [*reversed(alerted), *reversed(previous)]:
                if budget <= 0:
                    break
                merged.append(members[:budget])
                budget -= len(merged[-1])
            merged.reverse()
        data = json.dumps(snapshot.to_dict(), separators=(",", ":"), allow_nan=False)
        body = json.dumps({"v": VERSION, "bursts": merged}) if alerted else ""
        keys = [self.key("watch", watch.id), self.key("hist", watch.id),
                self.key("alerted", watch.id)]  # fmt: skip
        args = [watch.to_json(), data, keep, body]
        return bool(await self._r("record", self._record, keys, args))

    # -- destinations -----------------------------------------------------------------------
    async def destination(self, chat: ChatRef) -> ChatRef:
        """Where the alerts of watches set in ``chat`` go (the chat itself unless changed)."""
        raw = await self._r("dest", self.redis.get, self.key("dest", chat.key))
        return stored(raw, ChatRef.from_json, StoredError, chat)

    async def set_destination(self, chat: ChatRef, dest: ChatRef | None) -> None:
        """Send alerts of ``chat`` to ``dest``; ``None`` (or the chat itself) resets it."""
        key = self.key("dest", chat.key)
        if dest is None or dest == chat:
            await self._r("dest", self.redis.delete, key)
        else:
            await self._r("dest", self.redis.set, key, dest.to_json())

    async def prefs(self, chat: ChatRef) -> ChatPrefs:
        """The chat's alert choices (defaults when never set or unreadable)."""
        raw = await self._r("prefs", self.redis.get, self.key("prefs", chat.key))
        return stored(raw, ChatPrefs.from_json, StoredError, ChatPrefs())

    async def set_prefs(self, chat: ChatRef, prefs: ChatPrefs) -> None:
        key = self.key("prefs", chat.key)
        if prefs == ChatPrefs():
            await self._r("prefs", self.redis.delete, key)
        else:
            await self._r("prefs", self.redis.set, key, prefs.to_json())
