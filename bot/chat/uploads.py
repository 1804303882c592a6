"""Uploaded follower exports travel to the runner by reference: the bytes wait in Redis (bounded,
with a time to live) and the request's ``options`` name the key, so neither the queue entry nor
the deliveries (which repeat the request) carry the file.

``options = {"upload": {"key": ..., "name": ..., "format": "auto", "size": n}}``; the runner
reads the bytes with ``load_upload`` (and should delete them when done with ``drop_upload``).
"""

from __future__ import annotations

import re
from typing import Any, Final

import redis.asyncio as aioredis

from bot.pipeline.messages import new_id

__all__ = [
    "UPLOAD_PLATFORM",
    "UploadError",
    "drop_upload",
    "load_upload",
    "store_upload",
    "upload_ref",
]

#: The ``AuditRequest.platform`` of an uploaded export (its budget is ``limits.platforms.upload``).
UPLOAD_PLATFORM: Final = "upload"
#: Kept long enough to wait in a busy queue, then forgotten.
DEFAULT_TTL_SECONDS: Final = 6 * 3600
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


async def store_upload(
    redis: aioredis.Redis,
    data: bytes,
    name: str | None,
    *,
    prefix: str = "fa:",
    max_bytes: int,
    ttl: int = DEFAULT_TTL_SECONDS,
) -> dict[str, Any]:
    """Keep the export's bytes in Redis and return the request ``options`` naming them."""
    if len(data) > max_bytes:
        raise UploadError(f"That file is too large; the limit is {max_bytes / 1e6:.1f} MB.")
    if not data.strip():
        raise UploadError("That file is empty.")
    key = f"{prefix}upload:{new_id()}"
    await redis.set(key, data, ex=ttl)
    return {"upload": {"key": key, "name": safe_name(name), "format": "auto", "size": len(data)}}


def upload_ref(options: dict[str, Any]) -> dict[str, Any] | None:
    """The upload reference of a request's options, or ``None``."""
    ref = options.get("upload")
    if isinstance(ref, dict) and isinstance(ref.get("key"), str):
        return ref
    return None


async def load_upload(redis: aioredis.Redis, options: dict[str, Any]) -> tuple[bytes, str, str]:
    """(bytes, name, format) of the upload the options name; ``UploadError`` when gone."""
    ref = upload_ref(options)
    if ref is None:
        raise UploadError("This request names no uploaded file.")
    data = await redis.get(ref["key"])
    if data is None:
        raise UploadError("The uploaded file has expired; send it again.")
    return bytes(data), safe_name(str(ref.get("name") or "")), str(ref.get("format") or "auto")


async def drop_upload(redis: aioredis.Redis, options: dict[str, Any]) -> None:
    ref = upload_ref(options)
    if ref is not None:
        await redis.delete(ref["key"])
