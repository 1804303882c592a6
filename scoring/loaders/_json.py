"""JSON decoding: orjson when installed (fast), the standard library for what it rejects."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["JSONError", "fast_loads", "loads"]

fast_loads: Callable[[str], Any]
try:  # pragma: no branch - depends on the environment
    from orjson import loads as fast_loads
except ImportError:  # pragma: no cover - orjson is a declared dependency
    fast_loads = json.loads


class JSONError(ValueError):
    """Text that is not JSON; the message is short and says where."""


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
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JSONError(f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise JSONError("nested too deeply") from None
