"""When each watch is due: fixed slots every ``interval``, offset per watch so that watches do not
fire together, and the next slot after a given time (a missed schedule runs once, not once per
missed slot). Pure."""

from __future__ import annotations

import hashlib
import math
import re

__all__ = ["backoff", "next_slot", "offset", "parse_interval"]


def offset(watch_id: str, interval: float, spread: float = 1.0) -> float:
    """A deterministic offset in [0, spread * interval) from the watch id."""
    h = int.from_bytes(hashlib.sha256(watch_id.encode()).digest()[:8], "big")
    return (h / 2**64) * spread * interval


def next_slot(watch_id: str, after: float, interval: float, spread: float = 1.0) -> float:
    """The first slot of this watch strictly after ``after``."""
    off = offset(watch_id, interval, spread)
    k = math.floor((after - off) / interval) + 1
    return k * interval + off


def backoff(failures: int, interval: float, base: float = 300.0) -> float:
    """Delay before retrying a re-audit that failed transiently: doubling, at most the interval."""
    return min(interval, base * 2 ** max(0, failures - 1))


_UNITS = {"m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_INTERVAL = re.compile(r"(\d{1,4}(?:\.\d{1,2})?)\s*(m|min|h|d)")


def parse_interval(text: str) -> float:
    """``12h``, ``90m``, ``1d`` (also ``12 h``) in seconds; ``ValueError`` otherwise."""
    match = _INTERVAL.fullmatch(text.strip().lower()[:20])
    if match is None:
        raise ValueError("Give the interval like 12h, 90m or 1d.")
    return float(match.group(1)) * _UNITS[match.group(2)]
