"""Uploaded follower exports, as chat adapters see them: checks before downloading, and the
pipeline's way to park the bytes (``bot.pipeline.uploads.UploadStore``) so neither the queue
entry nor the deliveries (which repeat the request) carry the file.

The request's options are the pipeline's: ``{"upload": <id>, "name": ..., "format": "auto"}``;
the real runner reads the bytes and the worker deletes them once the audit is answered. Adapters
that hold an ``AuditService`` call ``service.submit_upload`` instead of ``store_upload``, passing
the download itself: the user's limits and the room left are checked before the file is fetched.
"""

from __future__ import annotations

import re
from typing import Any, Final

import redis.asyncio as aioredis

from bot.pipeline.uploads import UPLOAD_PLATFORM, UploadStore

__all__ = [
    "UPLOAD_PLATFORM",
    "UploadError",
    "check_upload",
    "drop_upload",
    "load_upload",
    "safe_name",
    "store_upload",
]

#: Kept long enough to wait in a busy queue, then forgotten.
DEFAULT_TTL_SECONDS: Final = 86400
_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSIONS: Final = (".csv", ".json", ".jsonl", ".ndjson", ".txt", ".tsv")


class UploadError(ValueError):
    """An upload that cannot be audited; ``str()`` is one line for the chat."""


def safe_name(name: str | None) -> str:
    """A file name fit for a handle and a key: ASCII letters, digits, ``._-``; at most 64."""
    cleaned = _NAME.sub("_", name or "")[:64].strip("._")
    return cleaned or "upload"


def check_upload(name: str | None, size: int | None, max_bytes: int) -> None:
    """Refuse, before downloading, what is clearly not an export or too large."""
    if size is not None and size > max_bytes:
        raise UploadError(
            f"That file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB."
        )
    if name and not name.lower().endswith(_EXTENSIONS):
        raise UploadError("Send a follower export as CSV, JSON or JSON Lines (.csv, .json).")
    if size == 0:
        raise UploadError("That file is empty.")


async def store_upload(
    redis: aioredis.Redis,
    data: bytes,
    name: str | None,
    *,
    prefix: str = "fa:",
    max_bytes: int,
    ttl: int = DEFAULT_TTL_SECONDS,
    max_held_bytes: int | None = None,
) -> dict[str, Any]:
    """Park the export's bytes in the pipeline's upload store (at most ``max_held_bytes`` of
    uploads held at once); the request ``options``."""
    if len(data) > max_bytes:
        raise UploadError(f"That file is too large; the limit is {max_bytes / 1e6:.1f} MB.")
    if not data.strip():
        raise UploadError("That file is empty.")
    upload_id = await UploadStore(redis, prefix, ttl, max_held_bytes).put(data)
    if upload_id is None:
        raise UploadError("Too many uploaded files are waiting to be audited; try again later.")
    return {"upload": upload_id, "name": safe_name(name), "format": "auto"}


async def load_upload(
    redis: aioredis.Redis, options: dict[str, Any], *, prefix: str = "fa:"
) -> tuple[bytes, str, str]:
    """(bytes, name, format) of the upload the options name; ``UploadError`` when gone."""
    upload_id = options.get("upload")
    if not isinstance(upload_id, str):
        raise UploadError("This request names no uploaded file.")
    data = await UploadStore(redis, prefix).get(upload_id)
    if data is None:
        raise UploadError("The uploaded file has expired; send it again.")
    return data, safe_name(str(options.get("name") or "")), str(options.get("format") or "auto")


async def drop_upload(
    redis: aioredis.Redis, options: dict[str, Any], *, prefix: str = "fa:"
) -> None:
    upload_id = options.get("upload")
    if isinstance(upload_id, str):
        await UploadStore(redis, prefix).delete(upload_id)
