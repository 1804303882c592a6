"""Spans of time in words for the user's messages ("45 s", "12 min", "3 h", "2 days").

Each message family keeps its own precision, so each has its function here; all of them pick the
first unit whose bound the span is below (``_in_units``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

__all__ = ["age", "ago", "every", "wait"]

#: ``(below, unit in seconds, name)``: a span under ``below`` seconds is said in that unit.
_Units = Sequence[tuple[int, int, str]]


def _in_units(seconds: int, units: _Units, divide: Callable[[int, int], int]) -> str | None:
    for below, size, name in units:
        if seconds < below:
            return f"{divide(seconds, size)} {name}"
    return None


def _nearest(seconds: int, size: int) -> int:
    return round(seconds / size)


def wait(seconds: float) -> str:
    """A wait, rounded: "45 s", "12 min", "2.5 h" (at least 1 s)."""
    n = max(1, round(seconds))
    return _in_units(n, ((90, 1, "s"), (5400, 60, "min")), _nearest) or f"{n / 3600:.1f} h"


def age(seconds: float) -> str:
    """The age of a result or a wait, cut down: "45 s", "12 min", "2 h 5 min"."""
    n = max(0, int(seconds))
    return _in_units(n, ((60, 1, "s"), (3600, 60, "min")), operator.floordiv) or (
        f"{n // 3600} h {n % 3600 // 60} min"
    )


def ago(seconds: float) -> str:
    """How long since, cut down: "12 min", "30 h", "5 days"."""
    n = max(0, int(seconds))
    return _in_units(n, ((3600, 60, "min"), (2 * 86400, 3600, "h")), operator.floordiv) or (
        f"{n // 86400} days"
    )


def every(seconds: float) -> str:
    """An interval as configured: "6 h", "1.5 h", "30 min"."""
    hours = seconds / 3600
    return f"{hours:g} h" if hours >= 1 else f"{seconds / 60:g} min"
