"""The inactive share: accounts silent for a long time, reported apart from the fake share.

An account counts only where the data says: it last posted more than ``days`` before it was
observed, or it has never posted and is older than ``days``. Accounts without that information
are left out of both the numerator and the denominator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scoring.account import Account

__all__ = ["InactiveShare", "estimate_inactive", "wilson_interval"]

_Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class InactiveShare:
    """``count`` of ``known`` accounts are inactive; share with a Wilson 95% interval."""

    share: float
    low: float
    high: float
    count: int
    known: int
    days: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "share": round(self.share, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
            "count": self.count,
            "known": self.known,
            "days": self.days,
        }


def wilson_interval(count: int, n: int) -> tuple[float, float]:
    """The Wilson score 95% interval of a proportion (sensible at 0, 1 and small n)."""
    if n <= 0:
        return 0.0, 1.0
    phat = count / n
    denom = 1 + _Z95**2 / n
    centre = (phat + _Z95**2 / (2 * n)) / denom
    half = _Z95 * math.sqrt(phat * (1 - phat) / n + _Z95**2 / (4 * n * n)) / denom
    low = 0.0 if count == 0 else max(0.0, centre - half)
    high = 1.0 if count == n else min(1.0, centre + half)
    return low, high


def _is_inactive(acc: Account, now: datetime | None, limit: timedelta) -> bool | None:
    seen = acc.observed_at or now
    if seen is None:
        return None
    if acc.last_post_at is not None:
        return seen - acc.last_post_at > limit
    if acc.posts_count == 0 and acc.created_at is not None:
        return seen - acc.created_at > limit
    return None


def estimate_inactive(
    accounts: Sequence[Account], *, days: int = 90, observed_at: datetime | None = None
) -> InactiveShare | None:
    """The inactive share among accounts whose activity is known; ``None`` if none is known.

    ``observed_at`` stands in for an account's own ``observed_at`` when that is missing.
    """
    limit = timedelta(days=days)
    flags = [f for f in (_is_inactive(a, observed_at, limit) for a in accounts) if f is not None]
    if not flags:
        return None
    count = sum(flags)
    low, high = wilson_interval(count, len(flags))
    return InactiveShare(count / len(flags), low, high, count, len(flags), days)
