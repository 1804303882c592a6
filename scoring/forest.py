"""Scoring with an ensemble of oblivious trees, and each account's exact per-feature reasons.

A tree of depth ``d`` asks ``d`` questions ("is feature f above t?", an unknown value sent to a
fixed side), the same at every node of a level, and its ``2**d`` leaves are numbered by the
answers (bit ``k`` is level ``k``'s answer). Scoring a batch is a few whole-array numpy
operations: bin every feature once, answer each distinct question once, gather the leaves.

**Contributions.** The baseline is the record with *nothing known*: every question then takes
its unknown side, which picks one leaf per tree, and the sum of those leaves is the model's
intercept. An account's contribution of feature f is its exact Shapley value in the game whose
players are the features and where a feature that is "absent" is unknown: per tree, the average
over orders of revealing the tree's features of how much revealing f moves the leaf value. The
contributions therefore add up exactly to the account's logit minus the intercept (so the
reasons, the largest of them, cannot disagree with the score), and an unknown feature always
contributes exactly 0. A leaf fixes every answer, so the values are tabulated per leaf when the
forest is built and scoring only gathers them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_DEPTH", "Forest", "Leaves", "Split"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: Leaf numbers, one row per tree (bit k = level k's answer).
Leaves = npt.NDArray[np.uint8]

#: Leaf numbers fit in a byte.
MAX_DEPTH: Final = 8
#: Rows scored at once: keeps each chunk's answers (questions x rows) in cache.
_CHUNK: Final = 2048


@dataclass(frozen=True, slots=True)
class Split:
    """One question: is column ``feature`` above ``threshold``? Unknown goes right if set."""

    feature: int
    threshold: float
    missing_right: bool


class Forest:
    """Oblivious trees over a feature matrix (NaN = unknown), numpy only."""

    def __init__(
        self,
        bias: float,
        splits: Sequence[Split],
        trees: Sequence[tuple[Sequence[int], FloatArray]],
        n_features: int,
        *,
        explain: bool = True,
    ) -> None:
        """``trees``: per tree, its question indices into ``splits`` (root level first) and its
        ``2**len`` leaf values; ``bias`` is added to every row. Without ``explain`` the
        per-leaf contribution tables are not built (scoring only; faster to load)."""
        self.explain = explain
        self.bias = float(bias)
        self.splits: tuple[Split, ...] = tuple(splits)
        self.trees: tuple[tuple[tuple[int, ...], FloatArray], ...] = tuple(
            (tuple(s), np.asarray(v, dtype=np.float64)) for s, v in trees
        )
        self.n_features = n_features
        self.depth = max((len(s) for s, _ in self.trees), default=0)
        self._compile()

    @classmethod
    def from_trees(
        cls,
        bias: float,
        trees: Sequence[tuple[Sequence[Split], FloatArray]],
        n_features: int,
        *,
        explain: bool = True,
    ) -> Forest:
        """Build from trees that each carry their own questions (shared ones are merged)."""
        index: dict[Split, int] = {}
        compact = [([index.setdefault(s, len(index)) for s in splits], v) for splits, v in trees]
        return cls(bias, list(index), compact, n_features, explain=explain)

    def scaled(self, factor: float) -> Forest:
        """This forest with its bias and every leaf multiplied by ``factor``, for scoring only
        (no contribution tables)."""
        return Forest(
            factor * self.bias,
            self.splits,
            [(ids, factor * values) for ids, values in self.trees],
            self.n_features,
            explain=False,
        )

    # -- compile: tables for whole-batch scoring ----------------------------------------------

    def _compile(self) -> None:
        d = self.depth
        n_trees = len(self.trees)
        leaves = 1 << d
        used = sorted({s.feature for s in self.splits})
        self._used = np.array(used, dtype=np.intp)
        self._thresholds = [
            np.unique([s.threshold for s in self.splits if s.feature == f]) for f in used
        ]
        row_of = {f: i for i, f in enumerate(used)}
        # Each distinct question is answered once per row, from its feature's code row (unknown
        # coded low or high, so that it lands on the question's side) against a rank: with
        # code = how many thresholds lie below x, x > threshold r (0-based) <=> code > r. One
        # more question, never true (a zero row against rank 0), pads short trees.
        self._question_rows = np.array(
            [row_of[s.feature] + (len(used) if s.missing_right else 0) for s in self.splits]
            + [2 * len(used)],
            dtype=np.intp,
        )
        self._question_ranks = np.array(
            [
                int(np.searchsorted(self._thresholds[row_of[s.feature]], s.threshold))
                for s in self.splits
            ]
            + [0],
            dtype=np.int64,
        )[:, None]
        questions = np.full((n_trees, d), len(self.splits), dtype=np.intp)
        values = np.zeros((n_trees, leaves))
        shares = np.zeros((n_trees, leaves, d))
        owners = np.zeros((n_trees, d), dtype=np.intp)
        baseline = np.zeros(n_trees)
        for t, (ids, v) in enumerate(self.trees):
            features = [self.splits[i].feature for i in ids]
            questions[t, : len(ids)] = ids
            # A padded level always answers "no", so only the real levels' leaves are reached.
            values[t] = np.resize(v, leaves)
            unknown_leaf = sum(1 << k for k, i in enumerate(ids) if self.splits[i].missing_right)
            baseline[t] = v[unknown_leaf]
            if not self.explain:
                continue
            players = sorted(set(features))
            table = _shapley_by_leaf(v, features, players, unknown_leaf)  # (2**len, players)
            reach = np.arange(leaves) & ((1 << len(ids)) - 1)
            shares[t, :, : len(players)] = table[reach]
            owners[t, : len(players)] = players
        self._questions = questions.T.copy()  # (depth, trees)
        self._values = values.ravel()
        self._leaf_base = (np.arange(n_trees, dtype=np.intp) * leaves)[:, None]
        # Per slot k: every tree's share table (flat like the leaves) and a (features, trees)
        # 0/1 matrix sending each tree's slot to its feature (an unused slot's shares are 0).
        self._shares = [shares[:, :, k].ravel() for k in range(d)]
        self._owners = []
        for k in range(d):
            owner = np.zeros((self.n_features, n_trees))
            owner[owners[:, k], np.arange(n_trees)] = 1.0
            self._owners.append(owner)
        #: The logit of a record with nothing known (every tree at its unknown leaf).
        self.intercept = self.bias + float(baseline.sum())

    # -- scoring ----------------------------------------------------------------------------

    def _codes(self, x: FloatArray) -> npt.NDArray[np.int16]:
        """(2 * used + 1, n): how many thresholds lie below each value, an unknown value counted
        below all of them (first half) or above all of them (second half); then a zero row."""
        half = len(self._used)
        codes = np.zeros((2 * half + 1, x.shape[0]), dtype=np.int16)
        for i, (f, t) in enumerate(zip(self._used.tolist(), self._thresholds, strict=True)):
            v = x[:, f]
            high = np.searchsorted(t, v, side="left")  # NaN sorts above every threshold
            codes[half + i] = high
            codes[i] = np.where(np.isnan(v), 0, high)
        return codes

    def _leaf_numbers(self, codes: npt.NDArray[np.int16]) -> Leaves:
        """(trees, n) leaf number of each tree for each column of ``codes``."""
        answers = (codes[self._question_rows] > self._question_ranks).view(np.uint8)
        leaf = answers[self._questions[0]]  # bit k of the leaf number = level k's answer
        for k in range(1, self.depth):
            leaf |= answers[self._questions[k]] << np.uint8(k)
        return np.asarray(leaf, dtype=np.uint8)

    def _flat(self, leaf: Leaves) -> npt.NDArray[np.intp]:
        """Leaf numbers as indices into the flat per-leaf tables (tree offset added)."""
        return np.add(leaf, self._leaf_base, dtype=np.intp)

    def leaves(self, x: FloatArray) -> Leaves:
        """(trees, n): the leaf each tree sends each row of ``x`` to, numbered by the answers.
        Forests with the same trees (:meth:`scaled`) number them alike."""
        n = x.shape[0]
        out = np.zeros((len(self.trees), n), dtype=np.uint8)
        if not self.trees:
            return out
        codes = self._codes(x)
        for lo in range(0, n, _CHUNK):
            out[:, lo : lo + _CHUNK] = self._leaf_numbers(codes[:, lo : lo + _CHUNK])
        return out

    def raw(self, x: FloatArray) -> FloatArray:
        """Forest logit of each row of the feature matrix ``x`` (n, features)."""
        return self.raw_and_leaves(x, keep=False)[0]

    def raw_and_leaves(self, x: FloatArray, *, keep: bool = True) -> tuple[FloatArray, Leaves]:
        """The logits and, with ``keep``, the leaves (:meth:`leaves`; an empty array without),
        which :meth:`contributions` can then reuse instead of answering the questions again."""
        n = x.shape[0]
        out = np.full(n, self.bias)
        kept = np.zeros((len(self.trees), n if keep else 0), dtype=np.uint8)
        if not self.trees:
            return out, kept
        codes = self._codes(x)
        for lo in range(0, n, _CHUNK):
            leaf = self._leaf_numbers(codes[:, lo : lo + _CHUNK])
            if keep:
                kept[:, lo : lo + _CHUNK] = leaf
            out[lo : lo + _CHUNK] += self._values[self._flat(leaf)].sum(0)
        return out, kept

    def contributions(self, x: FloatArray, leaves: Leaves | None = None) -> FloatArray:
        """(n, features) Shapley contributions; each row sums to ``raw − intercept``.
        ``leaves``: the rows' leaves if already known (:meth:`raw_and_leaves`)."""
        if not self.explain:
            raise ValueError("this forest was built without contribution tables")
        n = x.shape[0]
        out = np.zeros((n, self.n_features))
        if not self.trees:
            return out
        if leaves is None:
            leaves = self.leaves(x)
        elif leaves.shape != (len(self.trees), n):
            raise ValueError("leaves must have one row per tree and one column per row of x")
        for lo in range(0, n, _CHUNK):
            leaf = self._flat(leaves[:, lo : lo + _CHUNK])
            block = np.zeros((self.n_features, leaf.shape[1]))
            for k in range(self.depth):
                # slot k of every tree: its share per row, summed onto the slot's feature
                block += self._owners[k] @ self._shares[k][leaf]
            out[lo : lo + _CHUNK] = block.T
        return out


@lru_cache(maxsize=MAX_DEPTH + 1)
def _coalitions(m: int) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """For ``m`` players: membership (2**m, m) of every coalition, and the weights C (2**m, m)
    with which Shapley values are ``coalition_values @ C``: ``C[s, j]`` is
    ``(|s|-1)! (m-|s|)! / m!`` when j is in s and ``-|s|! (m-|s|-1)! / m!`` when not."""
    member = (np.arange(1 << m)[:, None] >> np.arange(m)[None, :]) & 1 == 1
    size = member.sum(axis=1)
    fact = [math.factorial(k) for k in range(m + 1)]
    weights = np.zeros((1 << m, m))
    for s_ in range(1 << m):
        k = int(size[s_])
        for j in range(m):
            if member[s_, j]:
                weights[s_, j] = fact[k - 1] * fact[m - k] / fact[m]
            else:
                weights[s_, j] = -fact[k] * fact[m - k - 1] / fact[m]
    return member, weights


def _shapley_by_leaf(
    values: FloatArray, features: Sequence[int], players: Sequence[int], unknown_leaf: int
) -> FloatArray:
    """For each leaf, each player feature's Shapley value of (leaf value − unknown leaf value),
    where a coalition's leaf takes the leaf's answers at its players' levels and the unknown
    answers elsewhere. Shape (2**levels, len(players))."""
    leaves = np.arange(1 << len(features))
    masks = np.array(
        [sum(1 << k for k, f in enumerate(features) if f == p) for p in players], dtype=np.int64
    )
    member, weights = _coalitions(len(players))
    coalition_masks = member.astype(np.int64) @ masks  # (2**m,): the levels each reveals
    states = unknown_leaf ^ ((leaves ^ unknown_leaf)[None, :] & coalition_masks[:, None])
    gains = values[states] - values[unknown_leaf]  # relative to the baseline: exact 0s stay 0
    shapley = gains.T @ weights
    # a player whose answers are the unknown ones changes nothing: exactly 0, not rounding
    active = ((leaves ^ unknown_leaf)[:, None] & masks[None, :]) != 0
    return np.asarray(np.where(active, shapley, 0.0), dtype=np.float64)
