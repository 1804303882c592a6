"""Stored records: a versioned JSON object read back with its size and version checked, the one
way the pipeline's, the alerts' and the reviews' records (and the kept samples) are loaded."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["load_record", "stored"]

T = TypeVar("T")
D = TypeVar("D")


def load_record(
    raw: str | bytes, *, max_bytes: int, version: int, error: type[ValueError]
) -> dict[str, Any]:
    """A stored record: a JSON object of at most ``max_bytes`` with ``"v": version``, else
    ``error``."""
    if len(raw) > max_bytes:
        raise error("record too large")
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise error(f"not JSON: {exc}") from None
    if not isinstance(obj, dict) or obj.get("v") != version:
        raise error("not a record of a known version")
    return obj


def stored(raw: Any, read: Callable[[Any], T], error: type[Exception], default: D) -> T | D:
    """``read(raw)`` of a value kept in Redis, or ``default`` when there was none or it does not
    read (``error``): a corrupt record, or one of another version, counts as missing."""
    if raw is None:
        return default
    try:
        return read(raw)
    except error:
        return default
