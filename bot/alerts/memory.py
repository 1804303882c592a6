"""The followers each watched account had at its last audit, so that a re-audit reads only the
followers newer than those (and stops paging once it meets one it knows).

Kept in Redis per account (``alerts:sample:<platform>:<handle>``) as versioned JSON of neutral
account dicts, at most the re-audit sample, expiring after ``remember_followers_seconds`` (so a
sample never goes stale forever: once it is gone the next re-audit reads the newest in full).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

import redis.asyncio as aioredis

from bot.alerts.model import VERSION
from bot.pipeline.resilience import retrying
from scoring.account import Account, AccountError

__all__ = ["FollowerMemory"]

#: A remembered sample larger than this is not trusted (a corrupt or foreign record).
MAX_BYTES: Final = 64 * 1024 * 1024


def _compact(account: Account) -> dict[str, object]:
    """The neutral dict without its unknown (null) fields: about a quarter smaller."""
    return {k: v for k, v in account.to_dict().items() if v is not None}


class FollowerMemory:
    """Remember and recall the newest-first follower sample of an account."""

    def __init__(self, redis: aioredis.Redis, prefix: str, *, ttl_seconds: float, cap: int):
        self.redis = redis
        self.prefix = prefix
        self.ttl = int(ttl_seconds)
        self.cap = cap

    def key(self, platform: str, handle: str) -> str:
        return f"{self.prefix}alerts:sample:{platform}:{handle}"

    async def recall(self, platform: str, handle: str) -> list[Account]:
        """The remembered sample, newest first; empty when none (or unreadable)."""
        if self.ttl <= 0:
            return []
        key = self.key(platform, handle)
        raw = await retrying(self.redis.get, key, what="alerts recall")
        if raw is None or len(raw) > MAX_BYTES:
            return []
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict) or obj.get("v") != VERSION:
                return []
            rows = obj.get("followers")
            if not isinstance(rows, list):
                return []
            return [Account.from_dict(r) for r in rows[: self.cap]]
        except (ValueError, TypeError, AccountError):
            return []

    async def remember(self, platform: str, handle: str, followers: Sequence[Account]) -> None:
        if self.ttl <= 0:
            return
        body = json.dumps(
            {"v": VERSION, "followers": [_compact(a) for a in followers[: self.cap]]},
            separators=(",", ":"),
            allow_nan=False,
        )
        key = self.key(platform, handle)
        await retrying(self.redis.setex, key, self.ttl, body, what="alerts remember")

    async def forget(self, platform: str, handle: str) -> None:
        key = self.key(platform, handle)
        await retrying(self.redis.delete, key, what="alerts forget")
