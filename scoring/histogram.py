"""The bins of the model's validated probability histograms, shared by training and the audit.

Calibrated probabilities crowd near 0 and 1, where equal bins of ``p`` see no detail: an
audience whose genuine followers score 0.001 and one whose score 0.04 share a bin. The bins are
therefore equal steps of the *logit*, finer in the middle and open at both ends, and the
artifact records their edges (as probabilities) so that a histogram always says how it was cut.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["LEGACY_EDGES", "LOGIT_EDGES", "SCORE_EDGES", "bin_counts", "bin_index", "read_edges"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Interior bin edges on the logit scale: 21 bins, the two outer ones open.
LOGIT_EDGES: Final[tuple[float, ...]] = (
    -9.0, -7.5, -6.5, -5.5, -4.5, -3.5, -2.75, -2.0, -1.25, -0.5,
    0.5, 1.25, 2.0, 2.75, 3.5, 4.5, 5.5, 6.5, 7.5, 9.0,
)  # fmt: skip
#: The same edges as probabilities, rounded as the artifact stores them.
SCORE_EDGES: Final[tuple[float, ...]] = tuple(
    round(1.0 / (1.0 + math.exp(-z)), 9) for z in LOGIT_EDGES
)
#: The edges of artifacts that do not record theirs: 20 equal bins of p on [0, 1].
LEGACY_EDGES: Final[tuple[float, ...]] = tuple(round(0.05 * k, 2) for k in range(1, 20))


def bin_index(p: FloatArray, edges: Sequence[float] | FloatArray) -> IntArray:
    """The bin of each probability: ``i`` such that ``edges[i-1] <= p < edges[i]``."""
    out: IntArray = np.searchsorted(np.asarray(edges, dtype=np.float64), p, side="right")
    return out.astype(np.int64)


def bin_counts(p: FloatArray, edges: Sequence[float] | FloatArray) -> FloatArray:
    """How many probabilities fall in each of the ``len(edges) + 1`` bins."""
    idx = bin_index(p, edges)
    return np.bincount(idx, minlength=len(edges) + 1).astype(np.float64)


def read_edges(value: object) -> tuple[float, ...] | None:
    """Interior edges from an artifact: a rising list of probabilities strictly inside 0..1, or
    ``None`` when the value is not one."""
    if not isinstance(value, list) or not 1 <= len(value) <= 200:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    edges = tuple(float(v) for v in value)
    if not all(0.0 < v < 1.0 for v in edges):
        return None
    if any(b <= a for a, b in pairwise(edges)):
        return None
    return edges
