"""Small chat state in Redis: recent audits per chat (for suggestions) and the request behind a
finished job (so a button can re-run it). Bounded in size and time; versioned JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from bot.pipeline.messages import VERSION, AuditRequest
from bot.pipeline.records import load_record, stored

__all__ = ["ChatState", "JobRecord"]

#: A job record is a few short fields; anything much larger is not one.
_MAX_RECORD = 64 * 1024


@dataclass(frozen=True, slots=True)
class JobRecord:
    """What re-running a job needs: the account and the sample asked for."""

    platform: str
    handle: str
    sample: int
    upload: bool = False

    @classmethod
    def from_json(cls, raw: str | bytes) -> JobRecord:
        """A record ``ChatState.remember_job`` wrote; ``ValueError`` when it is not one."""
        obj = load_record(raw, max_bytes=_MAX_RECORD, version=VERSION, error=ValueError)
        try:
            return cls(
                str(obj["platform"]), str(obj["handle"]), int(obj["sample"]), bool(obj["upload"])
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a job record: {exc!r}") from None


class ChatState:
    """``<prefix><adapter>:recent:<scope>`` lists and ``<prefix><adapter>:job:<id>`` records."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = "fa:",
        adapter: str = "chat",
        recent: int = 10,
        ttl: float = 30 * 86400.0,
    ) -> None:
        self.redis = redis
        self.base = f"{prefix}{adapter}:"
        self.recent_max = recent
        self.ttl = max(1, int(ttl))

    async def add_recent(self, scope: str, label: str) -> None:
        """Remember ``label`` (``bsky:alice.bsky.social``) as the newest audit in ``scope``."""
        if self.recent_max <= 0:
            return
        key = f"{self.base}recent:{scope}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrem(key, 0, label)
            pipe.lpush(key, label)
            pipe.ltrim(key, 0, self.recent_max - 1)
            pipe.expire(key, self.ttl)
            await pipe.execute()

    async def recent(self, scope: str) -> list[str]:
        if self.recent_max <= 0:
            return []
        raw = await self.redis.lrange(f"{self.base}recent:{scope}", 0, self.recent_max - 1)
        return [r.decode() if isinstance(r, bytes) else str(r) for r in raw]

    async def remember_job(self, job_id: str, request: AuditRequest) -> None:
        record: dict[str, Any] = {
            "v": VERSION,
            "platform": request.platform,
            "handle": request.handle,
            "sample": request.sample,
            "upload": bool(request.options),
        }
        await self.redis.set(f"{self.base}job:{job_id}", json.dumps(record), ex=self.ttl)

    async def job(self, job_id: str) -> JobRecord | None:
        raw = await self.redis.get(f"{self.base}job:{job_id}")
        return stored(raw, JobRecord.from_json, ValueError, None)
