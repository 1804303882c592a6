"""An uploaded follower export, parked in Redis for whichever worker runs the audit.

The adapter downloads the file (bounded by ``uploads.max_bytes``) and calls ``park_upload``; the
request carries ``options = {"upload": {"key", "name", "bytes"}}`` (never the bytes themselves);
the runner reads the data back with ``load_upload``. Parked files expire after ``ttl`` seconds.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from bot.pipeline.messages import new_id

__all__ = ["UploadMissing", "load_upload", "park_upload"]


class UploadMissing(Exception):
    """The parked export expired or the options do not name one."""


async def park_upload(
    redis: aioredis.Redis, data: bytes, name: str, *, prefix: str = "fa:", ttl: float = 86400.0
) -> dict[str, Any]:
    """Store ``data`` and return the request ``options`` that point at it."""
    key = f"{prefix}upload:{new_id()}"
    await redis.set(key, data, ex=max(1, int(ttl)))
    return {"upload": {"key": key, "name": name[:200], "bytes": len(data)}}


async def load_upload(
    redis: aioredis.Redis, options: dict[str, Any], *, prefix: str = "fa:"
) -> tuple[bytes, str]:
    """The parked bytes and file name named by a request's ``options``."""
    upload = options.get("upload")
    if not isinstance(upload, dict):
        raise UploadMissing("no upload in the request")
    key = upload.get("key")
    if not isinstance(key, str) or not key.startswith(f"{prefix}upload:"):
        raise UploadMissing("the upload key is not ours")
    data = await redis.get(key)
    if data is None:
        raise UploadMissing("the uploaded file has expired; send it again")
    return bytes(data), str(upload.get("name") or "upload")
