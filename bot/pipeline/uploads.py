"""Uploaded follower exports, parked in Redis between the chat adapter and the worker.

A file is stored once under a random id with a time to live, named in the job's options, read by
the runner (again after a takeover), and deleted when the audit is answered.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.pipeline.messages import new_id
from bot.pipeline.resilience import retrying

__all__ = ["UploadStore"]


class UploadStore:
    def __init__(
        self, redis: aioredis.Redis, prefix: str = "fa:", ttl_seconds: int = 86400
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = max(1, ttl_seconds)

    def _key(self, upload_id: str) -> str:
        return f"{self.prefix}upload:{upload_id}"

    async def put(self, data: bytes) -> str:
        upload_id = new_id()
        await retrying(lambda: self.redis.set(self._key(upload_id), data, ex=self.ttl),
                       what="upload")  # fmt: skip
        return upload_id

    async def get(self, upload_id: str) -> bytes | None:
        value = await retrying(lambda: self.redis.get(self._key(upload_id)), what="upload")
        return None if value is None else bytes(value)

    async def delete(self, upload_id: str) -> None:
        await retrying(lambda: self.redis.delete(self._key(upload_id)), what="upload")
