"""Reading the fields of a JSON message that crossed Redis: each reader returns the typed value
or raises ``MessageError`` naming the field (a wrong type, a string or list too long, a float
that is not finite, a negative count). Shared by ``bot.pipeline.messages`` and
``bot.pipeline.report``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, NoReturn

from scoring.account import AccountError, parse_datetime

__all__ = [
    "MAX_TEXT",
    "MessageError",
    "block",
    "count",
    "date",
    "number",
    "opt_block",
    "opt_count",
    "opt_number",
    "opt_text",
    "rows",
    "text",
    "texts",
]

#: The longest string a report field holds (an account's longest text, ``scoring.account``).
MAX_TEXT: Final = 4096

Obj = Mapping[str, Any]


class MessageError(ValueError):
    """A message that is not valid JSON of the expected version and shape."""


def _fail(key: str, what: str) -> NoReturn:
    raise MessageError(f"{key!r} must be {what}")


def text(obj: Obj, key: str, *, max_len: int = 2048, empty: bool = False) -> str:
    """A string of at most ``max_len`` characters (non-empty unless ``empty``)."""
    value = obj.get(key)
    if not isinstance(value, str) or (not value and not empty) or len(value) > max_len:
        _fail(key, f"a {'' if empty else 'non-empty '}string of at most {max_len} characters")
    return value


def opt_text(obj: Obj, key: str, *, max_len: int = MAX_TEXT) -> str | None:
    """``text`` (empty allowed), or None when missing or null."""
    return None if obj.get(key) is None else text(obj, key, max_len=max_len, empty=True)


def count(obj: Obj, key: str) -> int:
    """A non-negative integer (a boolean is not one)."""
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        _fail(key, "a non-negative integer")
    return value


def opt_count(obj: Obj, key: str) -> int | None:
    return None if obj.get(key) is None else count(obj, key)


def number(obj: Obj, key: str) -> float:
    """A finite number (JSON lets ``NaN`` and ``Infinity`` through: they are refused here)."""
    value = obj.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        _fail(key, "a number")
    if not math.isfinite(value):
        _fail(key, "a finite number")
    return float(value)


def opt_number(obj: Obj, key: str) -> float | None:
    return None if obj.get(key) is None else number(obj, key)


def block(obj: Obj, key: str) -> dict[str, Any]:
    """A JSON object."""
    value = obj.get(key)
    if not isinstance(value, dict):
        _fail(key, "an object")
    return value


def opt_block(obj: Obj, key: str) -> dict[str, Any] | None:
    return None if obj.get(key) is None else block(obj, key)


def rows(obj: Obj, key: str, *, limit: int) -> list[Any]:
    """A list of at most ``limit`` items (an empty list when missing or null)."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > limit:
        _fail(key, f"a list of at most {limit} items")
    return value


def texts(obj: Obj, key: str, *, limit: int, max_len: int = MAX_TEXT) -> tuple[str, ...]:
    """A list of at most ``limit`` strings, each of at most ``max_len`` characters."""
    items = rows(obj, key, limit=limit)
    if not all(isinstance(s, str) and len(s) <= max_len for s in items):
        _fail(key, f"a list of strings of at most {max_len} characters")
    return tuple(items)


def date(obj: Obj, key: str) -> datetime | None:
    """An ISO 8601 time (as ``scoring.account.format_datetime`` writes them), or None."""
    value = opt_text(obj, key, max_len=64)
    try:
        return parse_datetime(value, key)
    except AccountError:
        _fail(key, "an ISO 8601 time")
