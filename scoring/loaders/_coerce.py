"""Lenient readers for values that arrive as typed JSON or as CSV strings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from functools import cache
from typing import Any, Final
from zoneinfo import ZoneInfo

from scoring.account import MAX_TEXT, AccountError, parse_count, parse_datetime, to_utc

__all__ = [
    "count",
    "entity_id",
    "flag",
    "iso_date",
    "local_rome",
    "require_object",
    "text",
    "twitter_date",
]

_TRUE: Final = frozenset(("1", "1.0", "true", "True", "TRUE", "t", "yes"))
_FALSE: Final = frozenset(("0", "0.0", "false", "False", "FALSE", "f", "no"))
_NULLS: Final = frozenset(("", "NULL", "null", "None"))
_TWITTER_FORMAT: Final = "%a %b %d %H:%M:%S %z %Y"


def text(value: Any, name: str, *, null_marker: bool = False) -> str | None:
    """Text or None: empty is None, NUL bytes go, length is cut. With ``null_marker`` (MySQL
    dumps) the literal ``NULL`` is None too; in API JSON it is someone's name."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise AccountError(f"{name}: expected text, got {type(value).__name__}")
    if not value or (null_marker and value == "NULL"):
        return None
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value[:MAX_TEXT] or None


def count(value: Any, name: str) -> int | None:
    """A non-negative whole number from an int, a whole float or a numeric string (the
    account's own reader after the string is parsed)."""
    if isinstance(value, str):
        value = value.strip()
        if value in _NULLS:
            return None
        try:
            value = int(value) if value.isdigit() or value[:1] == "-" else float(value)
        except ValueError:
            raise AccountError(f"{name}: expected a whole number, got {value[:40]!r}") from None
    elif value is not None and not isinstance(value, int | float):
        raise AccountError(f"{name}: expected a whole number, got {type(value).__name__}")
    return parse_count(value, name)


def flag(value: Any, name: str, *, empty: bool | None = None) -> bool | None:
    """A boolean from JSON or from a CSV cell (``1``/``1.0``/``True``); ``empty`` is for ``""``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        if value == "":
            return empty
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        if value in _NULLS:
            return None
    raise AccountError(f"{name}: expected true or false, got {str(value)[:40]!r}")


def twitter_date(value: Any, name: str) -> datetime | None:
    """Twitter v1.1 ``Wed Aug 27 13:08:45 +0000 2008``, or ISO 8601 (naive = UTC)."""
    if isinstance(value, str) and value[:1].isalpha() and value not in _NULLS:
        try:
            parsed = datetime.strptime(value, _TWITTER_FORMAT)
        except ValueError:
            raise AccountError(f"{name}: not a Twitter date: {value[:40]!r}") from None
        return to_utc(parsed, name)
    return iso_date(value, name)


def iso_date(value: Any, name: str) -> datetime | None:
    """ISO 8601 (``Z``, offset, or naive meaning UTC) into aware UTC; ``NULL`` is None."""
    if isinstance(value, str) and value in _NULLS:
        return None
    return parse_datetime(value, name)


def local_rome(value: Any, name: str) -> datetime | None:
    """A naive Italian wall-clock time (the Cresci crawl columns) converted to UTC."""
    if value is None or (isinstance(value, str) and value in _NULLS):
        return None
    if not isinstance(value, str):
        raise AccountError(f"{name}: expected a date string, got {type(value).__name__}")
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise AccountError(f"{name}: not a date: {value[:40]!r}") from None
    if naive.tzinfo is not None:
        return to_utc(naive, name)
    return to_utc(naive.replace(tzinfo=_rome()), name)


@cache
def _rome() -> tzinfo:
    """Italian time, looked up the first time a Cresci crawl column is read."""
    return ZoneInfo("Europe/Rome")


def require_object(obj: Any) -> Mapping[str, Any]:
    """The record itself, when it is a JSON object; AccountError otherwise."""
    if not isinstance(obj, Mapping):
        raise AccountError(f"expected a JSON object, got {type(obj).__name__}")
    return obj


def entity_id(value: Any, missing: str) -> str:
    """A platform id given as a string or a non-negative integer; ``missing`` is the error."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise AccountError(missing)
    return value
