"""JSON decoding: orjson when installed (fast), the standard library for what it rejects.

Hostile text is read or refused, never a crash: an integer too long for ``int()`` (over 4,300
digits) is read as a ``HugeNumber`` that no count or id accepts, and a lone surrogate in a
string becomes U+FFFD so that it cannot break writing the output as UTF-8.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "HugeNumber",
    "JSONError",
    "careful_needed",
    "fast_loads",
    "loads",
    "raw_decode",
    "skip_space",
]

fast_loads: Callable[[str], Any]
try:  # pragma: no branch - depends on the environment
    from orjson import loads as fast_loads
except ImportError:  # pragma: no cover - orjson is a declared dependency
    fast_loads = json.loads


class JSONError(ValueError):
    """Text that is not JSON; the message is short and says where."""


class HugeNumber(float):
    """An integer literal too long to convert: infinite as a number, named by its length."""

    digits: int

    def __new__(cls, literal: str) -> HugeNumber:
        number = super().__new__(cls, "-inf" if literal.startswith("-") else "inf")
        number.digits = len(literal.lstrip("-"))
        return number

    def __str__(self) -> str:
        return f"a number of {self.digits} digits"

    __repr__ = __str__


def _int(literal: str) -> int | float:
    try:
        return int(literal)
    except ValueError:  # beyond sys.get_int_max_str_digits()
        return HugeNumber(literal)


_LONE: Final = re.compile("[\ud800-\udfff]")
#: A \u escape of a surrogate; only text with one can decode to a lone surrogate.
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")


def _clean(value: Any) -> Any:
    return _LONE.sub("\ufffd", value) if type(value) is str else value


def _clean_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {_clean(key): _clean(value) for key, value in pairs}


_SPACE: Final = re.compile(r"[ \t\n\r]*")  # what JSON allows around a value
_plain: Final = json.JSONDecoder()
#: Slower: for text with a surrogate escape, or an integer the plain decoder cannot convert.
_careful: Final = json.JSONDecoder(parse_int=_int, object_pairs_hook=_clean_pairs)


def skip_space(text: str, pos: int) -> int:
    """The first position at or after ``pos`` that is not JSON whitespace."""
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def careful_needed(text: str) -> bool:
    """Whether ``text`` may hold a lone surrogate, which only the careful decoder replaces."""
    return _SURROGATE_ESCAPE.search(text) is not None


def raw_decode(text: str, pos: int, careful: bool = False) -> tuple[Any, int]:
    """One JSON value from ``pos``: (value, end). Raises json.JSONDecodeError for bad JSON and
    RecursionError for a value nested too deeply; never the ValueError of a huge integer."""
    if not careful:
        try:
            return _plain.raw_decode(text, pos)
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer of more than 4,300 digits
            pass
    return _careful.raw_decode(text, pos)


def loads(text: str) -> Any:
    """Decode one JSON text. orjson rejects a few things the standard library reads (NaN,
    integers beyond 64 bits, lone surrogates), so those get a second chance there; a value
    nested too deeply for either is an error, not a crash."""
    try:
        return fast_loads(text)
    except ValueError:
        pass
    except RecursionError:
        raise JSONError("nested too deeply") from None
    try:
        value, end = raw_decode(text, skip_space(text, 0), careful_needed(text))
        end = skip_space(text, end)
        if end != len(text):
            raise json.JSONDecodeError("Extra data", text, end)
    except json.JSONDecodeError as exc:
        raise JSONError(f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise JSONError("nested too deeply") from None
    return value
