"""Estimate the share of fakes in a sample, with a 95% interval (see README, "How the fake share is
estimated").

Counting ``p > 0.5`` is biased whenever the real share is far from the training mix, so the share
is fitted as a two-component mixture: the sample's histogram of calibrated probabilities is
matched, by maximum likelihood, to ``share * hist_pos + (1 - share) * hist_neg``, where the class
histograms come from the model's out-of-sample validation: the pooled and per-collection
cross-validation histograms (the model on data like its training data) and the
leave-one-collection-out ones (models scoring a collection they never saw: how the model behaves
on a new platform or era), read from the validation *view* whose records are shaped like the
sample's (``choose_view``: Bluesky profiles have no likes, lists, ...; see ``scoring.views``).
The fits of collections validated on at least ``MIN_PROFILE`` accounts of each class are
averaged by likelihood. At either end of the histograms, in the bins that hold only one class's
tail (``LUMP_TAIL``) and almost none of the other class in any collection, followers are counted,
not fitted: fakes more blatant than any validated one, or people more ordinary than any
validated one, make the estimate surer rather than unfamiliar (``ShareEstimator._with_lumps``).
The interval joins the sampling error (a likelihood-ratio interval, widened for the histograms'
own noise) with the model error (the spread of those fits), and then spans every collection
that explains the sample about as well as the likeliest one. A sample that no validated
histogram explains (``MISFIT_PER_BIN``) is counted (``p >= 0.5``) and adjusted by the validated
error rates; its interval spans what a collection the model never saw could do (a
random-effects range of the rates across collections), so it is wide.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from scoring.account import Account
from scoring.audit.types import FloatArray, as_probabilities, rounded
from scoring.histogram import LEGACY_EDGES, bin_counts, read_edges
from scoring.views import closest_view, known_rates

__all__ = [
    "METHOD_AVERAGE",
    "METHOD_MIXTURE",
    "METHOD_PACC",
    "METHOD_UNFAMILIAR",
    "ErrorProfile",
    "Profiles",
    "ScanTable",
    "ShareEstimate",
    "ShareEstimator",
    "choose_view",
    "estimate_fake_share",
    "estimator_for",
    "read_profiles",
]

METHOD_MIXTURE: Final = "mixture-mle"
METHOD_UNFAMILIAR: Final = "count-unfamiliar"
#: Lack of fit (G per degree of freedom) above which a sample is unlike every validated one.
MISFIT_PER_BIN: Final = 2.5
#: Followers above the bins that hold the top this-share of the validated fakes are "beyond the
#: validated fakes" (said in an unfamiliar sample's verdict).
EXTREME_FAKE_MASS: Final = 0.01
METHOD_PACC: Final = "pacc"
METHOD_AVERAGE: Final = "probability-average"
#: The lumps at either end of the histograms hold at most this share of one class's validated
#: accounts (and almost none of the other's): see ``ShareEstimator._with_lumps``.
LUMP_TAIL: Final = 0.05
#: When the fit beside the bottom lump fails, the lump may take the next bins too, as long as no
#: validated collection (in or out of domain) put more than this share of its fakes below the
#: new edge: a surplus of followers more ordinary than the validated genuine accounts reads as
#: genuine there instead of making the sample unfamiliar (see ``ShareEstimator._estimate``).
LUMP_WIDE_FAKE_MASS: Final = 0.03
#: A collection validated on fewer accounts of either class has histograms so noisy that they
#: would "explain" almost any sample: it can widen an interval, never vouch for a sample.
MIN_PROFILE: Final = 100
#: A collection's genuine accounts count towards the extreme-bin rate from this many on.
_MIN_RATE_ACCOUNTS: Final = 500
#: chi-square(1) 95% quantile: the likelihood-ratio interval's cut.
_CHI2_95: Final = 3.841458820694124
_Z95: Final = 1.959963984540054
_GRID: Final = np.linspace(0.0, 1.0, 1001)


@dataclass(frozen=True, slots=True)
class ScanTable:
    """A validated profile's log-mixture table (share x bin) and its bins' interior edges."""

    log_mix: FloatArray
    edges: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ShareEstimate:
    """A share in 0..1 with its 95% interval; ``estimate`` is ``None`` for an empty sample.
    ``view`` names the validation it was read against (see ``scoring.views``)."""

    estimate: float | None
    low: float | None
    high: float | None
    method: str
    view: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": rounded(self.estimate),
            "low": rounded(self.low),
            "high": rounded(self.high),
            "method": self.method,
            "view": self.view,
        }


@dataclass(frozen=True, slots=True)
class ErrorProfile:
    """The model's validated behaviour on one collection (or pooled): class-conditional rates."""

    name: str
    n_pos: int
    n_neg: int
    mean_p_pos: float
    mean_p_neg: float
    hist_pos: FloatArray | None = None
    hist_neg: FloatArray | None = None
    #: Hard rates at p >= 0.5 (true and false positive rates), when validated.
    tpr: float | None = None
    fpr: float | None = None

    def smoothed(self) -> tuple[FloatArray, FloatArray] | None:
        """Histograms with half a count added to every bin, so no bin has probability zero."""
        if self.hist_pos is None or self.hist_neg is None:
            return None
        return (_smooth(self.hist_pos, self.n_pos), _smooth(self.hist_neg, self.n_neg))


def _smooth(hist: FloatArray, n: int) -> FloatArray:
    total = max(n, 1)
    out = (hist * total + 0.5) / (total + 0.5 * len(hist))
    return np.asarray(out / out.sum(), dtype=np.float64)


def _as_hist(value: object, bins: int) -> FloatArray | None:
    if not isinstance(value, Sequence) or len(value) != bins:
        return None
    try:
        arr = np.asarray([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or arr.sum() <= 0:
        return None
    return np.asarray(arr / arr.sum(), dtype=np.float64)


def _profile(name: str, d: Mapping[str, Any], bins: int) -> ErrorProfile | None:
    try:
        mpp = float(d["mean_p_pos"])
        mpn = float(d["mean_p_neg"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(mpp) and math.isfinite(mpn)):
        return None
    n_pos = d.get("n_pos")
    n_neg = d.get("n_neg")
    return ErrorProfile(
        name=name,
        n_pos=int(n_pos) if isinstance(n_pos, int | float) else 1000,
        n_neg=int(n_neg) if isinstance(n_neg, int | float) else 1000,
        mean_p_pos=mpp,
        mean_p_neg=mpn,
        hist_pos=_as_hist(d.get("hist_pos"), bins),
        hist_neg=_as_hist(d.get("hist_neg"), bins),
        tpr=_rate(d.get("tpr")),
        fpr=_rate(d.get("fpr")),
    )


def _rate(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return None


@dataclass(frozen=True, slots=True)
class Profiles:
    """The error profiles the estimate uses.

    ``pooled`` and ``collections`` describe the shipped model on data like its training data
    (cross-validation); ``unseen`` describes models scoring a collection they never saw
    (leave-one-collection-out), which is how the shipped model may do on unfamiliar data.
    ``edges`` are the interior edges (probabilities) of the bins their histograms count.
    """

    pooled: ErrorProfile | None
    collections: list[ErrorProfile]
    unseen: list[ErrorProfile]
    edges: tuple[float, ...] = LEGACY_EDGES


def _collection_profiles(node: object, prefix: str, bins: int) -> list[ErrorProfile]:
    if not isinstance(node, Mapping):
        return []
    cols = node.get("collections")
    if not isinstance(cols, Mapping):
        return []
    out = []
    for name, d in cols.items():
        prof = _profile(f"{prefix}/{name}", d, bins) if isinstance(d, Mapping) else None
        if prof is not None:
            out.append(prof)
    return out


def _pooled_profile(node: object, name: str, bins: int) -> ErrorProfile | None:
    if isinstance(node, Mapping) and isinstance(node.get("pooled"), Mapping):
        return _profile(name, node["pooled"], bins)
    return None


def _view_block(validation: Mapping[str, Any], view: str | None) -> Mapping[str, Any] | None:
    """The cv/loco blocks of a named view, when the validation has them."""
    views = validation.get("views")
    if view is None or not isinstance(views, Mapping):
        return None
    block = views.get(view)
    if isinstance(block, Mapping) and isinstance(block.get("cv"), Mapping):
        return block
    return None


def choose_view(
    validation: Mapping[str, Any] | None,
    accounts: Sequence[Account],
    known: Mapping[str, float] | None = None,
) -> str | None:
    """The validated view whose feature availability is closest to the sample's (``full`` for
    complete Twitter records, ``bluesky`` for Bluesky profiles, ...), or None when the
    validation has no views or the sample is empty. ``known``: the sample's known fractions
    per feature when the scoring pass already measured them (else they are measured here)."""
    views = validation.get("views") if validation is not None else None
    if not isinstance(views, Mapping) or not accounts:
        return None
    rates = {
        name: block["known"]
        for name, block in views.items()
        if isinstance(block, Mapping) and isinstance(block.get("known"), Mapping)
    }
    if not known:
        features = sorted({f for view_known in rates.values() for f in view_known})
        known = known_rates(accounts, features)
    return closest_view(known, rates)


def read_profiles(validation: Mapping[str, Any], view: str | None = None) -> Profiles:
    """Read ``Model.validation``: ``{"cv": {"pooled", "collections"}, "loco": {...}}`` as the
    scoring model writes it, or a flat ``{"pooled", "collections"}``, or one profile alone;
    histograms are cut at ``histogram_edges`` (20 equal bins of p when absent). With ``view``,
    the cv and loco blocks of ``validation["views"][view]`` are read instead, when present."""
    block = _view_block(validation, view)
    if block is not None:
        validation = {
            "histogram_edges": validation.get("histogram_edges"),
            "cv": block["cv"],
            "loco": block.get("loco"),
        }
    edges = read_edges(validation.get("histogram_edges")) or LEGACY_EDGES
    bins = len(edges) + 1
    if isinstance(validation.get("cv"), Mapping):
        return Profiles(
            _pooled_profile(validation["cv"], "cv/pooled", bins),
            _collection_profiles(validation["cv"], "cv", bins),
            _collection_profiles(validation.get("loco"), "loco", bins),
            edges,
        )
    pooled = _pooled_profile(validation, "pooled", bins) or _profile("pooled", validation, bins)
    return Profiles(
        pooled,
        _collection_profiles(validation, "collections", bins),
        _collection_profiles(validation.get("loco"), "loco", bins),
        edges,
    )


def _log_mix(h1: FloatArray, h0: FloatArray) -> FloatArray:
    """log(π·h1 + (1−π)·h0) for every π on the grid: a (grid, bins) table."""
    out: FloatArray = np.log(_GRID[:, None] * h1[None, :] + (1.0 - _GRID[:, None]) * h0[None, :])
    return out


@dataclass(frozen=True, slots=True)
class _Fit:
    share: float
    low: float
    high: float
    loglik: float
    #: G statistic of lack of fit: twice the log-likelihood ratio of the saturated model.
    misfit: float


def _mixture(counts: FloatArray, table: FloatArray) -> _Fit:
    ll: FloatArray = table @ counts
    best = int(np.argmax(ll))
    inside = np.nonzero(2.0 * (ll[best] - ll) <= _CHI2_95)[0]
    n = counts.sum()
    seen = counts > 0
    saturated = float(np.sum(counts[seen] * np.log(counts[seen] / n)))
    return _Fit(
        float(_GRID[best]),
        float(_GRID[inside[0]]),
        float(_GRID[inside[-1]]),
        float(ll[best]),
        2.0 * (saturated - float(ll[best])),
    )


def _profile_noise(n: int, share: float, table: _Table) -> float:
    """Factor by which histograms estimated from ``n_pos``/``n_neg`` accounts widen a sampling
    interval of a sample of ``n``: sqrt(1 + n·(share/n_pos + (1 − share)/n_neg))."""
    return math.sqrt(1.0 + n * (share / table.n_pos + (1.0 - share) / table.n_neg))


def _misfit_limit(n: int, share: float, table: _Table) -> float:
    """How much lack of fit is expected by chance: the sample's own noise, inflated by the noise
    of histograms estimated from only ``n_pos``/``n_neg`` validation accounts."""
    inflation = 1.0 + n * max(share / table.n_pos, (1.0 - share) / table.n_neg)
    return MISFIT_PER_BIN * float(table.dof) * inflation


def _logit(rate: float) -> float:
    r = min(max(rate, 1e-3), 1.0 - 1e-3)
    return math.log(r / (1.0 - r))


def _expit(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _adjusted(count: float, tpr: float, fpr: float) -> tuple[float, float]:
    """The share range that a count implies under one pair of rates: ``(count − fpr)/(tpr − fpr)``
    clipped to 0..1, or all of 0..1 when those rates barely separate the classes."""
    if tpr - fpr < 0.1:
        return (0.0, 1.0)
    share = min(1.0, max(0.0, (count - fpr) / (tpr - fpr)))
    return (share, share)


def _new_collection_rates(profiles: Sequence[ErrorProfile]) -> list[tuple[float, float]]:
    """Random effects across collections: 95% predictive ranges of the true and false positive
    rates of a collection not yet seen, from the rates the model had on collections it never
    saw (``loco``; the in-domain ones when fewer than two), on the logit scale:
    mean ± 1.96·sd·sqrt(1 + 1/k). Returns the four corners (tpr, fpr)."""
    unseen = [q for q in profiles if q.name.startswith("loco/")]
    rated = [
        q
        for q in (unseen if len(unseen) >= 2 else profiles)
        if q.tpr is not None and q.fpr is not None
    ]
    if len(rated) < 2:
        return []
    k = len(rated)
    ends = []
    for rates in ([q.tpr for q in rated], [q.fpr for q in rated]):
        z = np.asarray([_logit(r) for r in rates if r is not None])
        half = _Z95 * float(z.std(ddof=1)) * math.sqrt(1.0 + 1.0 / k)
        ends.append((_expit(float(z.mean()) - half), _expit(float(z.mean()) + half)))
    return [(t, f) for t in ends[0] for f in ends[1]]


def _count_range(p: FloatArray, profiles: Sequence[ErrorProfile]) -> ShareEstimate:
    """For a sample unlike any validated one: classify and count (p >= 0.5), adjusted by every
    validated profile's true and false positive rates (``(count − fpr)/(tpr − fpr)``); the
    estimate is the median of those adjusted counts. The interval spans them and the counts
    adjusted by a new collection's plausible rates (:func:`_new_collection_rates`), widened by
    the count's sampling error: the model may be as wrong here as on any collection it never
    saw, and the interval says so."""
    n = p.size
    count = float(np.mean(p >= 0.5))
    half = _Z95 * math.sqrt(max(count * (1 - count), 1.0 / n) / n)
    answers = [count]
    for prof in profiles:
        if prof.tpr is not None and prof.fpr is not None and prof.tpr - prof.fpr >= 0.1:
            answers.append(_adjusted(count, prof.tpr, prof.fpr)[0])
    est = float(np.median(answers))
    ends = [e for tpr, fpr in _new_collection_rates(profiles) for e in _adjusted(count, tpr, fpr)]
    low = max(0.0, min([*answers, *ends]) - half)
    high = min(1.0, max([*answers, *ends]) + half)
    return ShareEstimate(est, low, high, METHOD_UNFAMILIAR)


def _mixture_estimate(
    counts: FloatArray, tables: Sequence[_Table]
) -> tuple[float, float, float] | None:
    """Average the fits of every validated profile, weighted by how well each explains the
    sample (Bayesian model averaging with equal priors): (estimate, low, high), or None when
    even the likeliest explains it poorly (unfamiliar). ``counts`` is the sample's histogram in
    the profiles' bins."""
    n = int(counts.sum())
    fits = [_mixture(counts, t.log_mix) for t in tables]
    # The first table is the pooled one; collections validated on too few accounts only widen.
    sure = np.asarray(
        [i == 0 or min(t.n_pos, t.n_neg) >= MIN_PROFILE for i, t in enumerate(tables)]
    )
    ll = np.asarray([f.loglik for f in fits])
    w = np.zeros(len(fits))
    w[sure] = np.exp(ll[sure] - np.max(ll[sure]))
    w /= w.sum()
    shares = np.asarray([f.share for f in fits])
    est = float(np.dot(w, shares))
    # The validation histograms are themselves samples: widen each fit's interval by their noise.
    grow = np.asarray([_profile_noise(n, f.share, t) for f, t in zip(fits, tables, strict=True)])
    low = float(np.dot(w, shares - (shares - [f.low for f in fits]) * grow))
    high = float(np.dot(w, shares + ([f.high for f in fits] - shares) * grow))
    model_sd = math.sqrt(float(np.dot(w, (shares - est) ** 2)))
    best_i = int(np.argmax(w))
    best = fits[best_i]
    lo, hi = _join(est, min(low, est), max(high, est), model_sd)
    if best.misfit > _misfit_limit(n, best.share, tables[best_i]):
        # Unlike every validated collection: the histograms' shapes do not apply here, and the
        # mixture fit can go far wrong; the caller counts instead (cruder but robust).
        return None
    # Every collection whose errors explain the sample about as well as the likeliest's could be
    # the one it is like: the interval spans all of their (noise-widened) intervals, not only
    # the average's. "As well" allows for the histograms' own noise: one estimated from m
    # accounts costs a true sample of n about n·(bins − 1)/m of deviance even when it is right.
    for f, t, g in zip(fits, tables, grow, strict=True):
        if 2.0 * (best.loglik - f.loglik) <= _CHI2_95 + t.dof * (float(g) ** 2 - 1.0):
            lo = min(lo, max(0.0, f.share - (f.share - f.low) * g))
            hi = max(hi, min(1.0, f.share + (f.high - f.share) * g))
    return est, lo, hi


def _pacc(mean_p: float, prof: ErrorProfile) -> float:
    gap = prof.mean_p_pos - prof.mean_p_neg
    if gap <= 0.05:
        return mean_p
    return float(np.clip((mean_p - prof.mean_p_neg) / gap, 0.0, 1.0))


def _join(est: float, low: float, high: float, model_sd: float) -> tuple[float, float]:
    """Widen a sampling interval by independent model error (sd), on each side separately."""
    spread = (_Z95 * model_sd) ** 2
    lo = est - math.sqrt((est - low) ** 2 + spread)
    hi = est + math.sqrt((high - est) ** 2 + spread)
    return max(0.0, lo), min(1.0, hi)


def _spread(values: Sequence[float], centre: float) -> float:
    if not values:
        return 0.0
    return math.sqrt(sum((v - centre) ** 2 for v in values) / len(values))


@dataclass(frozen=True, slots=True)
class _Table:
    """One profile's log-mixture table, with the class sizes its histograms came from."""

    log_mix: FloatArray
    n_pos: int
    n_neg: int
    #: Degrees of freedom of the lack of fit: bins less the share and the total (less one more
    #: for each lump's free count, when the table is cut between lumps).
    dof: int


def _extreme_cut(pooled: ErrorProfile | None) -> int | None:
    """The lowest bin from which up the pooled validated fakes hold at most
    ``EXTREME_FAKE_MASS``, or None (no histograms, or the fakes reach the last bin's edge)."""
    if pooled is None or pooled.hist_pos is None:
        return None
    from_top = np.cumsum(pooled.hist_pos[::-1])[::-1]  # non-increasing
    light = np.flatnonzero(from_top <= EXTREME_FAKE_MASS + 1e-12)
    if light.size == 0 or light[0] == 0:
        return None
    return int(light[0])


def _rate_beyond(profiles: Sequence[ErrorProfile], bins: slice, *, fakes: bool) -> float:
    """How often an account of the other class may score in ``bins``: the most any validated
    collection's accounts did (in or out of domain), at least the pooled rule of three."""
    rates, sizes = [], []
    for q in profiles:
        hist, size = (q.hist_pos, q.n_pos) if fakes else (q.hist_neg, q.n_neg)
        if hist is not None and size >= _MIN_RATE_ACCOUNTS:
            rates.append(float(hist[bins].sum()))
            sizes.append(size)
    return max([3.0 / max([*sizes, 1]), *rates])


def _tail_bins(
    pooled: ErrorProfile,
    profiles: Sequence[ErrorProfile],
    *,
    top: bool,
    other_mass: float = EXTREME_FAKE_MASS,
) -> int:
    """How many bins at one end hold only the tail of one class and (almost) none of the other:
    at the top, the highest-scoring ``LUMP_TAIL`` of the pooled validated fakes, where every
    collection (in or out of domain) put at most ``other_mass`` of its genuine accounts; at the
    bottom, the same with the classes swapped. 0 when there are no such bins."""
    own = pooled.hist_pos if top else pooled.hist_neg
    if own is None:
        return 0
    worst = np.zeros(len(own))
    for q in profiles:
        other, size = (q.hist_neg, q.n_neg) if top else (q.hist_pos, q.n_pos)
        if other is not None and size >= _MIN_RATE_ACCOUNTS:
            worst = np.maximum(worst, other[::-1] if top else other)
    own_tail = np.cumsum(own[::-1] if top else own)
    fits = (own_tail <= LUMP_TAIL + 1e-12) & (np.cumsum(worst) <= other_mass + 1e-12)
    return int(np.argmin(fits)) if not fits.all() else len(own)


@dataclass(frozen=True, slots=True)
class _Lumps:
    """The bins at either end where only one class scores: ``[0, low)`` holds no validated fakes
    and ``[top, bins)`` no validated genuine account (beyond the validated fakes). Followers
    there are counted, not fitted; the mixture is fitted to the bins between, on histograms cut
    to them. ``fakes_low``/``genuine_top``: the worst validated rates of the other class there."""

    low: int
    top: int
    fakes_low: float
    genuine_top: float
    tables: list[_Table]


def _lumps(
    profiles: Sequence[ErrorProfile], pooled: ErrorProfile | None
) -> tuple[_Lumps | None, list[_Lumps]]:
    """The strict cut of the histograms into lumps and a fitted middle (None: no lumps), and
    the cuts with each wider bottom lump up to ``LUMP_WIDE_FAKE_MASS``, narrowest first."""
    if pooled is None or pooled.hist_pos is None:
        return None, []
    bins = len(pooled.hist_pos)
    top = bins - _tail_bins(pooled, profiles, top=True)
    low = _tail_bins(pooled, profiles, top=False)
    wide = _tail_bins(pooled, profiles, top=False, other_mass=LUMP_WIDE_FAKE_MASS)
    cuts = {
        edge: _cut(profiles, edge, top, bins)
        for edge in range(low, max(low, wide) + 1)
        if top - edge >= 3 and not (edge == 0 and top == bins)
    }
    return cuts.get(low), [cut for edge, cut in cuts.items() if edge > low]


def _cut(profiles: Sequence[ErrorProfile], low: int, top: int, bins: int) -> _Lumps:
    tables = []
    for prof in profiles:
        hists = prof.smoothed()
        if hists is not None:
            h1, h0 = (h[low:top] / h[low:top].sum() for h in hists)
            dof = max(bins - 2 - (low > 0) - (top < bins), 1)
            tables.append(_Table(_log_mix(h1, h0), max(prof.n_pos, 1), max(prof.n_neg, 1), dof))
    return _Lumps(
        low,
        top,
        _rate_beyond(profiles, slice(0, low), fakes=True) if low > 0 else 0.0,
        _rate_beyond(profiles, slice(top, bins), fakes=False) if top < bins else 0.0,
        tables,
    )


def _upper(count: float, rate: float) -> float:
    """A generous 95% upper bound of how many of ``count`` accounts fall where they do at
    ``rate``."""
    expected = rate * count
    return min(count, expected + 2.0 * math.sqrt(expected) + 1.0)


def _tables(profiles: Sequence[ErrorProfile]) -> list[_Table]:
    out = []
    for prof in profiles:
        hists = prof.smoothed()
        if hists is not None:
            dof = max(len(hists[0]) - 2, 1)
            out.append(_Table(_log_mix(*hists), max(prof.n_pos, 1), max(prof.n_neg, 1), dof))
    return out


class ShareEstimator:
    """Estimates fake shares with one model's validation, read and tabulated once."""

    def __init__(
        self, validation: Mapping[str, Any] | None = None, view: str | None = None
    ) -> None:
        profiles = read_profiles(validation or {}, view)
        #: The view the estimates are read against (None: the validation has no views).
        self.view = view if _view_block(validation or {}, view) or view == "full" else None
        self.pooled, self.collections = profiles.pooled, profiles.collections
        self.unseen = profiles.unseen
        self.edges = profiles.edges
        cut = _extreme_cut(self.pooled)
        self._extreme = None if cut is None else float(self.edges[cut - 1])
        self._tables: list[_Table] = []
        self._lumps: _Lumps | None = None
        self._wider: list[_Lumps] = []
        self._profiles: list[ErrorProfile] = []
        if self.pooled is not None and self.pooled.smoothed() is not None:
            self._profiles = [
                q for q in (self.pooled, *self.collections, *self.unseen) if q.smoothed()
            ]
            self._tables = _tables(self._profiles)
            self._lumps, self._wider = _lumps(self._profiles, self.pooled)

    def beyond_fakes(self, probabilities: FloatArray | Sequence[float]) -> int:
        """How many followers score higher than 99% of the fakes the model was validated on
        (pooled cross-validation; 0 without validated histograms)."""
        if self._extreme is None:
            return 0
        return int(np.count_nonzero(as_probabilities(probabilities) >= self._extreme))

    @property
    def method(self) -> str:
        if self._tables:
            return METHOD_MIXTURE
        return METHOD_PACC if self.pooled is not None else METHOD_AVERAGE

    def scan_table(self, probabilities: FloatArray | Sequence[float]) -> ScanTable | None:
        """The log-mixture table (51 shares x bins) of the validated profile that best explains
        the sample, for the burst scan; ``None`` without validated histograms or when the sample
        is unlike all of them (the scan then reads probabilities as coin flips)."""
        p = as_probabilities(probabilities)
        if not self._tables or p.size == 0:
            return None
        counts = bin_counts(p, self.edges)
        fits = [_mixture(counts, t.log_mix) for t in self._tables]
        i = int(np.argmax([f.loglik for f in fits]))
        if fits[i].misfit > _misfit_limit(p.size, fits[i].share, self._tables[i]):
            return None
        return ScanTable(self._tables[i].log_mix[::20], self.edges)

    def estimate(self, probabilities: FloatArray | Sequence[float]) -> ShareEstimate:
        """The fake share of a sample, with its 95% interval."""
        return dataclasses.replace(self._estimate(as_probabilities(probabilities)), view=self.view)

    def _estimate(self, p: FloatArray) -> ShareEstimate:
        n = int(p.size)
        if n == 0:
            return ShareEstimate(None, None, None, self.method)
        if self._tables:
            counts = bin_counts(p, self.edges)
            found = self._fitted(counts)
            return found if found is not None else self._unfamiliar(p, counts)
        mean_p = float(p.mean())
        # Sampling sd of a mean of values in 0..1 is at most a Bernoulli's with the same mean.
        sd_sample = math.sqrt(max(mean_p * (1 - mean_p), 1.0 / n) / n)
        pooled = self.pooled
        if pooled is not None:
            est = _pacc(mean_p, pooled)
            gap = max(pooled.mean_p_pos - pooled.mean_p_neg, 0.05)
            alt = [_pacc(mean_p, c) for c in self.collections]
            sd = math.hypot(sd_sample / gap, _spread(alt, est))
            low, high = est - _Z95 * sd, est + _Z95 * sd
            return ShareEstimate(est, max(0.0, low), min(1.0, high), METHOD_PACC)
        low, high = mean_p - _Z95 * sd_sample, mean_p + _Z95 * sd_sample
        return ShareEstimate(mean_p, max(0.0, low), min(1.0, high), METHOD_AVERAGE)

    def _fitted(self, counts: FloatArray) -> ShareEstimate | None:
        """The mixture estimate of a sample's histogram, with its lumps counted; None when the
        sample is unlike every validated one."""
        strict = self._lumps
        found: ShareEstimate | None
        if strict is not None and counts[: strict.low].sum() + counts[strict.top :].sum() > 0:
            found = self._with_lumps(counts, strict)
        else:
            mixed = _mixture_estimate(counts, self._tables)
            found = None if mixed is None else ShareEstimate(*mixed, METHOD_MIXTURE)
        # Unfamiliar beside the strict bottom lump: if followers more ordinary than the
        # validated genuine accounts crowd the next bins (where almost no validated fake
        # scores), count them as genuine too and fit the rest.
        edge = strict.low if strict is not None else 0
        for cut in self._wider:
            if found is not None:
                break
            if counts[edge : cut.low].sum() > 0:
                found = self._with_lumps(counts, cut)
        return found

    def _unfamiliar(self, p: FloatArray, counts: FloatArray) -> ShareEstimate:
        """A sample unlike every validated one, counted and adjusted (``_count_range``); its low
        end still at least the fakes certainly among the top lump."""
        found = _count_range(p, self._profiles)
        strict = self._lumps
        if strict is None or strict.top == len(counts):
            return found
        top = float(counts[strict.top :].sum())
        assert found.estimate is not None and found.low is not None
        low_end = max(found.low, (top - _upper(top, strict.genuine_top)) / p.size)
        return dataclasses.replace(found, estimate=max(found.estimate, low_end), low=low_end)

    def _with_lumps(self, counts: FloatArray, lumps: _Lumps) -> ShareEstimate | None:
        """Followers where only fakes score counted as fakes, those where only genuine accounts
        score counted as genuine (each less, for the interval, as many of the other class as
        the worst validated collection put there); the mixture fitted to the rest. None when
        the rest is unlike every validated sample."""
        n = float(counts.sum())
        top = float(counts[lumps.top :].sum())
        low = float(counts[: lumps.low].sum())
        middle = counts[lumps.low : lumps.top]
        m = float(middle.sum())
        fewer = top - _upper(top, lumps.genuine_top)  # fakes certainly among the top
        more = _upper(low, lumps.fakes_low)  # fakes possibly among the low
        if m == 0:
            return ShareEstimate(top / n, fewer / n, (top + more) / n, METHOD_MIXTURE)
        rest = _mixture_estimate(middle, lumps.tables)
        if rest is None:
            return None
        est, lo, hi = rest
        return ShareEstimate(
            (top + est * m) / n,
            (fewer + lo * m) / n,
            min(1.0, (top + more + hi * m) / n),
            METHOD_MIXTURE,
        )


_CACHE: list[tuple[Mapping[str, Any], str | None, ShareEstimator]] = []


def estimator_for(validation: Mapping[str, Any] | None, view: str | None = None) -> ShareEstimator:
    """The estimator of a validation mapping (and view), reused while the same mapping object
    is passed (a model's validation is tabulated once, not once per audit)."""
    if validation is None:
        return ShareEstimator(None)
    for held, held_view, estimator in _CACHE:
        if held is validation and held_view == view:
            return estimator
    estimator = ShareEstimator(validation, view)
    _CACHE.insert(0, (validation, view, estimator))
    del _CACHE[8:]
    return estimator


def estimate_fake_share(
    probabilities: FloatArray | Sequence[float],
    validation: Mapping[str, Any] | None = None,
) -> ShareEstimate:
    """The fake share of a sample from its calibrated probabilities and the model's validation.

    Uses the mixture fit when validated histograms exist, adjusted probability averaging (PACC)
    when only the soft rates exist, and the plain probability average otherwise.
    """
    return estimator_for(validation).estimate(probabilities)
