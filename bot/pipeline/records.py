"""Stored records: a versioned JSON object read back with its size and version checked, the one
way the pipeline's, the alerts' and the reviews' records (and the kept samples) are loaded."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["load_record"]


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
