"""Find bursts: runs of followers, contiguous in the follow order, that arrived together and look
bought.

Method: a likelihood-ratio scan. Every window of the follow order is tested against the rest of
the sample: inside and outside, followers are a two-class mixture with its own fake share, each
probability read through the model's validated class histograms (``table``), or, without them,
as a (soft) coin flip; the log-likelihood ratio against one share for all measures how
surprising the window is. The best window is reported when its ratio passes a threshold
calibrated by simulation under the null of no burst (see ``null_threshold``) and when it looks
bought (at least ``min_size`` followers, a fake share of at least ``fakes.min_share`` and well
above the rest: ``BurstBar``). The burst is then masked and the rest scanned again, up to
``max_bursts``. Because the baseline is the sample's own rate, a sample that is fake throughout
has no burst: nothing in it stands out.

A second scan runs on creation dates where they exist: a follower whose account was created
within ``cohort_days`` of several of its neighbours in the follow order is a "cohort" member; a
window dense in cohort members and with a raised fake share (a lower bar than the first scan's,
``cohort``, since the dates are a second witness) is a burst too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from scoring.account import format_datetime
from scoring.audit.quantify import ScanTable
from scoring.audit.types import FloatArray, as_probabilities, rounded
from scoring.histogram import bin_index

__all__ = ["Burst", "BurstBar", "BurstConfig", "created_days", "find_bursts", "null_threshold"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class BurstBar:
    """What a significant window of one scan must also show to be reported as a burst: a fake
    share of at least ``min_share``, at least ``min_lift`` above the rest's, and a scan ratio of
    at least ``threshold_factor`` times the calibrated threshold."""

    min_share: float
    min_lift: float
    threshold_factor: float


@dataclass(frozen=True, slots=True)
class BurstConfig:
    """Tuning of burst detection; the defaults meet the evaluation targets (see README)."""

    min_size: int = 20
    max_bursts: int = 5
    #: Extra margin on the calibrated threshold (log-likelihood units).
    margin: float = 0.0
    #: The scan on fake probabilities.
    fakes: BurstBar = BurstBar(min_share=0.5, min_lift=0.25, threshold_factor=1.0)
    #: Accounts created within this many days of each other form a cohort.
    cohort_days: float = 3.0
    #: Neighbours on each side compared for the cohort test.
    cohort_window: int = 5
    #: A cohort member needs at least this many of its neighbours created within ``cohort_days``.
    cohort_min: int = 3
    #: The scan on cohort members (see module doc) needs a milder fake share, since the dates are
    #: a second witness, and a scaled threshold: neighbours' cohort flags are not independent.
    cohort: BurstBar = BurstBar(min_share=0.3, min_lift=0.15, threshold_factor=2.0)


@dataclass(frozen=True, slots=True)
class Burst:
    """A run of the follow order: ``start``..``end`` 0-based, ``end`` inclusive."""

    start: int
    end: int
    fake_share: float
    created_from: datetime | None
    created_to: datetime | None
    #: The scan's log-likelihood ratio (None when not finite or not carried, e.g. read back).
    score: float | None
    kind: str = "fakes"
    #: 95% interval of ``fake_share`` when the report has estimated it (see ``quantify``).
    low: float | None = None
    high: float | None = None

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "size": self.size,
            "fake_share": rounded(self.fake_share),
            "fake_share_low": rounded(self.low),
            "fake_share_high": rounded(self.high),
            "created_from": format_datetime(self.created_from),
            "created_to": format_datetime(self.created_to),
            "kind": self.kind,
            "score": rounded(self.score, 2),
        }


def null_threshold(n: int) -> float:
    """The scan ratio that the best window of ``n`` passes under no burst about 1% of the time
    or less: a + b ln n, rounded up from simulations (99th percentiles: coin flips at 2-60%,
    9-11.5 for n = 300-5,000; draws from the packaged model's validated histograms at 0-80%
    fakes, 7.8-10.7 for n = 100-3,000)."""
    return 5.0 + 0.9 * math.log(max(n, 2))


def created_days(created: Sequence[datetime | None]) -> FloatArray:
    """Creation dates as days since 1970 (NaN where unknown)."""
    out = np.full(len(created), np.nan, dtype=np.float64)
    for i, c in enumerate(created):
        if c is not None:
            out[i] = (c - _EPOCH).total_seconds() / 86400.0
    return out


def _loglik(k: FloatArray, m: FloatArray) -> FloatArray:
    """Maximised Bernoulli log-likelihood of ``k`` (soft) successes in ``m`` trials."""
    r = np.clip(k / np.maximum(m, 1e-9), 1e-12, 1.0 - 1e-12)
    out: FloatArray = k * np.log(r) + (m - k) * np.log1p(-r)
    return out


class _Bernoulli:
    """Scan ratio with (soft) coin flips: the window's rate against the rest's."""

    def __init__(self, x: FloatArray, free: BoolArray) -> None:
        self.cs = np.concatenate(([0.0], np.cumsum(np.where(free, x, 0.0))))
        self.big_k = float(x[free].sum())
        self.big_m = float(free.sum())
        self.null = float(_loglik(np.asarray([self.big_k]), np.asarray([self.big_m]))[0])

    def __call__(self, starts: IntArray, ends: IntArray) -> FloatArray:
        k = self.cs[ends] - self.cs[starts]
        m = (ends - starts).astype(np.float64)
        ko, mo = self.big_k - k, self.big_m - m
        ratio = _loglik(k, m) + _loglik(ko, mo) - self.null
        out: FloatArray = np.where(k * mo > ko * m, ratio, 0.0)
        return out


class _Mixture:
    """Scan ratio with the model's validated class histograms: inside and outside the window,
    each its own fake share in a two-class mixture (``table``: log-mixture, share x bin)."""

    def __init__(self, p: FloatArray, free: BoolArray, table: ScanTable) -> None:
        bins = table.log_mix.shape[1]
        idx = bin_index(p, table.edges)
        onehot = np.zeros((p.size, bins))
        onehot[np.flatnonzero(free), idx[free]] = 1.0
        self.cc = np.vstack((np.zeros((1, bins)), np.cumsum(onehot, axis=0)))
        self.total = self.cc[-1]
        self.table_t = np.ascontiguousarray(table.log_mix.T)
        self.null = float((self.total @ self.table_t).max())

    def __call__(self, starts: IntArray, ends: IntArray) -> FloatArray:
        inside = self.cc[ends] - self.cc[starts]
        ll_in = inside @ self.table_t
        ll_out = (self.total - inside) @ self.table_t
        ratio = ll_in.max(axis=1) + ll_out.max(axis=1) - self.null
        out: FloatArray = np.where(ll_in.argmax(axis=1) > ll_out.argmax(axis=1), ratio, 0.0)
        return out


_Scorer = Callable[[IntArray, IntArray], FloatArray]


def _scan(score: _Scorer, starts: IntArray, ends: IntArray) -> tuple[float, int, int]:
    """The best of the windows [starts, ends) (half-open): (llr, start, end exclusive)."""
    scores = score(starts, ends)
    i = int(np.argmax(scores))
    return float(scores[i]), int(starts[i]), int(ends[i])


def _pairs(starts: IntArray, ends: IntArray, min_size: int) -> tuple[IntArray, IntArray]:
    """Every (start, end) combination with end - start >= min_size."""
    s = np.repeat(starts, len(ends))
    e = np.tile(ends, len(starts))
    keep = e - s >= min_size
    return s[keep], e[keep]


def _best_window(score: _Scorer, free: BoolArray, min_size: int) -> tuple[float, int, int] | None:
    """The window of free positions with the highest scan ratio: (llr, start, end inclusive).

    Windows are scanned on a grid (a step of 1% of the stretch) and the best one's edges are then
    refined position by position within one step.
    """
    if free.sum() < 2 * min_size:
        return None
    idx = np.flatnonzero(free)
    breaks = np.flatnonzero(np.diff(idx) != 1)
    run_starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    run_ends = np.concatenate((idx[breaks], [idx[-1]]))
    best: tuple[float, int, int] | None = None
    for a, b in zip(run_starts.tolist(), run_ends.tolist(), strict=True):
        if b - a + 1 < min_size:
            continue
        step = max(1, (b - a + 1) // 100)
        grid = np.arange(a, b + 2, step)
        if grid[-1] != b + 1:
            grid = np.append(grid, b + 1)
        s, e = _pairs(grid, grid, min_size)
        if s.size == 0:
            continue
        value, s0, e0 = _scan(score, s, e)
        if step > 1:
            s, e = _pairs(
                np.arange(max(a, s0 - step), min(b + 1, s0 + step) + 1),
                np.arange(max(a, e0 - step), min(b + 1, e0 + step) + 1),
                min_size,
            )
            value, s0, e0 = _scan(score, s, e)
        if best is None or value > best[0]:
            best = (value, s0, e0 - 1)
    return best


def _cohort_members(days: FloatArray, window: int, within: float, need: int) -> FloatArray:
    """1.0 where an account was created within ``within`` days of ``need`` of its neighbours."""
    n = len(days)
    hits = np.zeros(n, dtype=np.float64)
    known = ~np.isnan(days)
    for shift in range(1, window + 1):
        if shift >= n:
            break
        close = np.abs(days[shift:] - days[:-shift]) <= within
        close &= known[shift:] & known[:-shift]
        hits[shift:] += close
        hits[:-shift] += close
    out: FloatArray = (hits >= need).astype(np.float64)
    return out


def _date_span(days: FloatArray) -> tuple[datetime | None, datetime | None]:
    """The narrowest date range holding 80% of the dated accounts (all of them when few)."""
    d = np.sort(days[~np.isnan(days)])
    if d.size == 0:
        return None, None
    keep = d.size if d.size < 5 else max(1, math.ceil(0.8 * d.size))
    widths = d[keep - 1 :] - d[: d.size - keep + 1]
    i = int(np.argmin(widths))
    lo, hi = float(d[i]), float(d[i + keep - 1])
    return _EPOCH + timedelta(days=lo), _EPOCH + timedelta(days=hi)


def _mean(x: FloatArray) -> float:
    return float(x.mean()) if x.size else 0.0


def find_bursts(
    probabilities: FloatArray | Sequence[float],
    created: Sequence[datetime | None] | FloatArray | None = None,
    config: BurstConfig | None = None,
    share_of: Callable[[FloatArray], float] | None = None,
    table: ScanTable | None = None,
) -> list[Burst]:
    """Bursts in follow order, sorted by start. ``created`` may be datetimes or days (NaN).

    ``share_of`` estimates the fake share of a stretch from its probabilities (the report passes
    the calibrated quantifier, see ``quantify``); by default, the mean probability. ``table``
    (log-mixture of the validated class histograms, share x bin, and the bins' edges, from
    ``ShareEstimator.scan_table``) makes the scan on probabilities use the full class
    histograms rather than coin flips.
    """
    cfg = config or BurstConfig()
    share = share_of or _mean
    p = as_probabilities(probabilities)
    n = int(p.size)
    if created is None:
        days = np.full(n, np.nan)
    elif isinstance(created, np.ndarray):
        days = created.astype(np.float64)
    else:
        days = created_days(created)
    if n < 2 * cfg.min_size:
        return []
    threshold = null_threshold(n) + cfg.margin
    free = np.ones(n, dtype=bool)
    found: list[Burst] = []
    signals: list[tuple[str, FloatArray, BurstBar]] = [("fakes", p, cfg.fakes)]
    if np.count_nonzero(~np.isnan(days)) >= 2 * cfg.min_size:
        cohort = _cohort_members(days, cfg.cohort_window, cfg.cohort_days, cfg.cohort_min)
        signals.append(("cohort", cohort, cfg.cohort))
    attempts = 0
    for kind, x, bar in signals:
        while len(found) < cfg.max_bursts and attempts < 3 * cfg.max_bursts:
            attempts += 1
            score: _Scorer = (
                _Mixture(p, free, table)
                if kind == "fakes" and table is not None
                else _Bernoulli(x, free)
            )
            hit = _best_window(score, free, cfg.min_size)
            if hit is None or hit[0] < threshold * bar.threshold_factor:
                break
            value, s, e = hit
            inside = share(p[s : e + 1])
            rest = free.copy()
            rest[s : e + 1] = False
            outside = share(p[rest]) if rest.any() else 0.0
            free[s : e + 1] = False
            if inside < bar.min_share or inside - outside < bar.min_lift:
                # Significant but not bought-looking: masked so that the scan moves on.
                continue
            lo, hi = _date_span(days[s : e + 1])
            found.append(Burst(s, e, inside, lo, hi, value if math.isfinite(value) else None, kind))
    return sorted(found, key=lambda b: b.start)
