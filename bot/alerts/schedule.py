"""When each watch is due: fixed slots every ``interval``, offset per watch so that watches do not
fire together, and the next slot after a given time (a missed schedule runs once, not once per
missed slot). Pure."""

from __future__ import annotations

import hashlib
import math

__all__ = ["backoff", "next_slot", "offset"]


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
