"""Uploaded follower exports, parked in Redis between the chat adapter and the worker.

A file is stored once under a random id with a time to live, named in the job's options, read by
the runner (again after a takeover), and deleted when the audit is answered. The bytes held at
once are bounded (``max_held_bytes``, set by the writers): a file beyond the bound is not stored.
"""

from __future__ import annotations

from typing import Final

import redis.asyncio as aioredis

from bot.pipeline import scripts
from bot.pipeline.messages import new_id
from bot.pipeline.resilience import retrying

__all__ = ["UPLOAD_PLATFORM", "UploadStore"]

#: The ``AuditRequest.platform`` of an uploaded export (its budget is ``limits.platforms.upload``).
UPLOAD_PLATFORM: Final = "upload"

_UNBOUNDED = 1 << 62


class UploadStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str = "fa:",
        ttl_seconds: int = 86400,
        max_held_bytes: int | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = max(1, ttl_seconds)
        self.max_held_bytes = _UNBOUNDED if max_held_bytes is None else max_held_bytes
        self._put = redis.register_script(scripts.UPLOAD_PUT)
        self._delete = redis.register_script(scripts.UPLOAD_DELETE)

    def _key(self, upload_id: str) -> str:
        return f"{self.prefix}upload:{upload_id}"

    async def has_room(self, size: int) -> bool:
        """Whether ``size`` more bytes would fit now (checked again when stored)."""
        check = [self.prefix, "", b"", self.ttl, self.max_held_bytes, size, "check"]
        fits = await retrying(self._put, [], check, what="upload")
        return bool(fits)

    async def put(self, data: bytes) -> str | None:
        """Store ``data``; its id, or None when the uploads held would exceed the bound."""
        upload_id = new_id()
        put = [self.prefix, upload_id, data, self.ttl, self.max_held_bytes, len(data), "put"]
        stored = await retrying(self._put, [], put, what="upload")
        return upload_id if stored else None

    async def get(self, upload_id: str) -> bytes | None:
        value = await retrying(self.redis.get, self._key(upload_id), what="upload")
        return None if value is None else bytes(value)

    async def delete(self, upload_id: str) -> None:
        await retrying(self._delete, [], [self.prefix, upload_id], what="upload")
