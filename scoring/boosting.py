"""Gradient boosting of oblivious trees for the logistic loss (training only; numpy only).

An oblivious tree asks the same question of every node of a level: "is feature f above t?",
with unknown values (NaN) sent to the side the training chose for that question. A tree of
depth d therefore has d questions and 2**d leaves, and an account's leaf is the binary number
its d answers spell. That is what makes scoring fast in numpy (:mod:`scoring.forest`) and the
reasons exact: every leaf's path is fixed, so the change each question makes to the prediction
can be tabulated per leaf.

Each level picks the question (feature, threshold, side for unknown values) with the largest
second-order gain summed over all the level's nodes, from histograms of gradients and Hessians
over pre-binned feature values. Leaf values are Newton steps with an L2 penalty, shrunk by the
learning rate. Everything is deterministic: no sampling, ties broken by the lowest index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from scoring.forest import Forest, Split

__all__ = ["BoostParams", "boost", "make_thresholds"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_MIN_GAIN: Final = 1e-12


@dataclass(frozen=True, slots=True)
class BoostParams:
    """How to grow the ensemble."""

    n_trees: int = 300
    depth: int = 6
    learning_rate: float = 0.1
    #: L2 penalty on leaf values (in units of the total Hessian, see ``boost``).
    l2: float = 1e-4
    #: At most this many thresholds per feature (weighted quantiles of its known values).
    max_thresholds: int = 63

    def to_dict(self) -> dict[str, float | int]:
        return {
            "n_trees": self.n_trees,
            "depth": self.depth,
            "learning_rate": self.learning_rate,
            "l2": self.l2,
            "max_thresholds": self.max_thresholds,
        }


def make_thresholds(x: FloatArray, w: FloatArray, max_thresholds: int) -> list[FloatArray]:
    """Candidate thresholds per column: midpoints between weighted quantiles of known values."""
    out: list[FloatArray] = []
    for j in range(x.shape[1]):
        v = x[:, j]
        known = ~np.isnan(v)
        uniq = np.unique(v[known])
        if uniq.size > max_thresholds + 1:
            order = np.argsort(v[known], kind="mergesort")
            vk = v[known][order]
            cw = np.cumsum(w[known][order])
            qs = np.linspace(0.0, 1.0, max_thresholds + 2)[1:-1] * cw[-1]
            cuts = vk[np.searchsorted(cw, qs, side="left").clip(0, vk.size - 1)]
            uniq = np.unique(np.concatenate((cuts, uniq[:1], uniq[-1:])))
        mids = (uniq[:-1] + uniq[1:]) / 2.0 if uniq.size > 1 else np.empty(0)
        out.append(np.round(mids, 9).astype(np.float64))
    return out


def _codes(x: FloatArray, thresholds: list[FloatArray]) -> IntArray:
    """Per cell: 0 when unknown, else 1 + how many thresholds lie below the value."""
    codes = np.zeros(x.shape, dtype=np.int64)
    for j, t in enumerate(thresholds):
        v = x[:, j]
        known = ~np.isnan(v)
        codes[known, j] = 1 + np.searchsorted(t, v[known], side="left")
    return codes


def boost(
    x: FloatArray,
    y: npt.NDArray[np.int64],
    w: FloatArray,
    params: BoostParams,
    *,
    monotone: npt.NDArray[np.int64] | None = None,
    thresholds: list[FloatArray] | None = None,
) -> Forest:
    """Fit ``params.n_trees`` oblivious trees to labels ``y`` (0/1) with row weights ``w``.

    ``monotone`` (per column: +1, -1 or 0) makes the ensemble non-decreasing (+1) or
    non-increasing (-1) in that feature wherever it is known, as LightGBM's basic method does:
    a split on such a feature whose two sides disagree with the direction gets one pooled value,
    and every node below it is held on its side of the split's midpoint. The weights are
    normalised to sum to the number of rows, so ``l2`` does not depend on their scale.
    """
    n, n_features = x.shape
    if thresholds is None:
        thresholds = make_thresholds(x, w, params.max_thresholds)
    direction = np.zeros(n_features) if monotone is None else monotone.astype(np.float64)
    codes = _codes(x, thresholds)
    n_codes = np.array([t.size + 2 for t in thresholds], dtype=np.int64)  # unknown + bins
    width = int(np.max(n_codes))
    ww = w * (n / w.sum())
    # The constant that best fits the weighted labels starts the ensemble.
    prior = float(np.clip(np.average(y, weights=ww), 1e-6, 1 - 1e-6))
    bias = float(np.log(prior / (1.0 - prior)))
    logit = np.full(n, bias)
    lam = params.l2 * n
    offsets = (np.arange(n_features, dtype=np.int64) * width)[None, :]
    flat_codes = codes + offsets  # (n, F) cell ids within one leaf's block
    trees: list[tuple[list[Split], FloatArray]] = []
    yf = y.astype(np.float64)
    for _ in range(params.n_trees):
        p = 1.0 / (1.0 + np.exp(-np.clip(logit, -40, 40)))
        g = ww * (p - yf)
        h = ww * np.maximum(p * (1.0 - p), 1e-6)
        g_cells, h_cells = np.repeat(g, n_features), np.repeat(h, n_features)  # one per cell
        leaf = np.zeros(n, dtype=np.int64)
        splits: list[Split] = []
        lo, hi = np.full(1, -np.inf), np.full(1, np.inf)  # value bounds of each node
        for level in range(params.depth):
            n_leaves = 1 << level
            block = n_features * width
            ids = (leaf[:, None] * block + flat_codes).ravel()
            size = n_leaves * block
            shape = (n_leaves, n_features, width)
            g_hist = np.bincount(ids, g_cells, size).astype(np.float64)
            h_hist = np.bincount(ids, h_cells, size).astype(np.float64)
            best = _best_split(
                g_hist.reshape(shape), h_hist.reshape(shape), n_codes, lam, direction, lo, hi
            )
            if best is None:
                break
            j, k, missing_right, v_left, v_right = best
            splits.append(Split(j, float(thresholds[j][k - 1]), missing_right))
            right = codes[:, j] > k if not missing_right else (codes[:, j] > k) | (codes[:, j] == 0)
            leaf |= right.astype(np.int64) << level
            # children of node q: q (left) and q + n_leaves (right)
            lo, hi = np.concatenate((lo, lo)), np.concatenate((hi, hi))
            if direction[j] != 0:
                mid = (v_left + v_right) / 2.0
                low_side, high_side = (slice(0, n_leaves), slice(n_leaves, None))
                if direction[j] < 0:
                    low_side, high_side = high_side, low_side
                hi[low_side] = np.minimum(hi[low_side], mid)
                lo[high_side] = np.maximum(lo[high_side], mid)
        n_leaves = 1 << len(splits)
        gl = np.bincount(leaf, weights=g, minlength=n_leaves)
        hl = np.bincount(leaf, weights=h, minlength=n_leaves)
        values = params.learning_rate * np.clip(-gl / (hl + lam), lo, hi)
        logit = logit + values[leaf]
        trees.append((splits, values))
    return Forest.from_trees(bias, trees, n_features)


def _newton(g: FloatArray, h: FloatArray, lam: float, lo: FloatArray, hi: FloatArray) -> FloatArray:
    return np.asarray(np.clip(-g / (h + lam), lo, hi), dtype=np.float64)


def _gain(g: FloatArray, h: FloatArray, v: FloatArray, lam: float) -> FloatArray:
    """How much a node of gradient sum g and Hessian sum h lowers the loss at value v."""
    return np.asarray(-(g * v + 0.5 * (h + lam) * v * v), dtype=np.float64)


def _best_split(
    gh: FloatArray,
    hh: FloatArray,
    n_codes: IntArray,
    lam: float,
    direction: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
) -> tuple[int, int, bool, FloatArray, FloatArray] | None:
    """The question of most gain: (feature, threshold rank 1.., unknown goes right, the left
    and right value of each node), or None when no question lowers the loss."""
    lo3, hi3 = lo[:, None, None], hi[:, None, None]
    # Cumulative sums over known codes 1..: left of rank k holds codes 1..k.
    g_unknown, h_unknown = gh[:, :, 0:1], hh[:, :, 0:1]
    g_cum = np.cumsum(gh[:, :, 1:], axis=2)
    h_cum = np.cumsum(hh[:, :, 1:], axis=2)
    g_known, h_known = g_cum[:, :, -1:], h_cum[:, :, -1:]
    gl, hl = g_cum[:, :, :-1], h_cum[:, :, :-1]  # rank k at index k-1
    gr, hr = g_known - gl, h_known - hl
    sign = direction[None, :, None]

    def side(
        g_l: FloatArray, h_l: FloatArray, g_r: FloatArray, h_r: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        v_l, v_r = _newton(g_l, h_l, lam, lo3, hi3), _newton(g_r, h_r, lam, lo3, hi3)
        # a monotone split whose sides disagree with its direction gets one pooled value
        pooled = _newton(g_l + g_r, h_l + h_r, lam, lo3, hi3)
        wrong = sign * (v_r - v_l) < 0
        v_l, v_r = np.where(wrong, pooled, v_l), np.where(wrong, pooled, v_r)
        total = (_gain(g_l, h_l, v_l, lam) + _gain(g_r, h_r, v_r, lam)).sum(axis=0)
        return np.asarray(total, dtype=np.float64), v_l, v_r

    left_unknown = side(gl + g_unknown, hl + h_unknown, gr, hr)
    right_unknown = side(gl, hl, gr + g_unknown, hr + h_unknown)
    g_all, h_all = g_known[:, :, 0] + g_unknown[:, :, 0], h_known[:, :, 0] + h_unknown[:, :, 0]
    parent = _gain(g_all, h_all, _newton(g_all, h_all, lam, lo[:, None], hi[:, None]), lam)
    ranks = left_unknown[0].shape[1]
    valid = np.arange(ranks)[None, :] < (n_codes - 2)[:, None]
    gains = np.stack((left_unknown[0], right_unknown[0])) - parent.sum(axis=0)[None, :, None]
    gains = np.where(valid[None], gains, -np.inf)
    if gains.size == 0:
        return None
    flat = int(np.argmax(gains))
    if not np.isfinite(gains.flat[flat]) or gains.flat[flat] <= _MIN_GAIN:
        return None
    s, j, k = (int(i) for i in np.unravel_index(flat, gains.shape))
    chosen = right_unknown if s else left_unknown
    return j, k + 1, bool(s), chosen[1][:, j, k], chosen[2][:, j, k]
