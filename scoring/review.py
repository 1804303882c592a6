"""What a human review of followers gives back: a random draw, the reviewed fake share, and the
model checked against the labels. Pure: numbers in, numbers out (the bot keeps the labels).

The draw is uniform without replacement and never looks at the scores: only a random sample
makes the reviewed share an unbiased estimate of the audience's fake share (reviewing the most
suspicious would measure the model's top, not the audience).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np

from scoring.audit.inactive import wilson_interval
from scoring.audit.types import rounded
from scoring.train import auc, reliability

__all__ = [
    "DEFAULT_DRAW",
    "LABELS",
    "MAX_DRAW",
    "LabelValue",
    "ModelCheck",
    "ReviewedShare",
    "agrees",
    "consensus",
    "draw",
    "model_check",
    "reviewed_share",
    "seed_of",
]

DEFAULT_DRAW: Final = 25
MAX_DRAW: Final = 100
LabelValue = Literal["fake", "genuine", "unsure"]
LABELS: Final[tuple[LabelValue, ...]] = ("fake", "genuine", "unsure")
#: Reliability bins of the model check (few labels: five bins of 0.2).
CHECK_BINS: Final = 5


def seed_of(key: str) -> int:
    """A 64-bit seed from a review's id, so the same review always draws the same followers."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


def draw(size: int, n: int, seed: int) -> list[int]:
    """``min(n, size)`` distinct indices of ``range(size)``, uniformly at random, in the random
    order drawn (the order shown to reviewers; never sorted by score)."""
    if size < 0 or n < 0:
        raise ValueError("size and n must be non-negative")
    k = min(n, size)
    rng = np.random.default_rng(seed)
    return [int(i) for i in rng.choice(size, size=k, replace=False)] if k else []


@dataclass(frozen=True, slots=True)
class ReviewedShare:
    """The fake share among the reviewed accounts (``unsure`` left out and counted), with its
    Wilson 95% interval; ``share`` is None before any fake or genuine label."""

    fake: int
    genuine: int
    unsure: int
    share: float | None
    low: float
    high: float

    @property
    def decided(self) -> int:
        return self.fake + self.genuine

    def to_dict(self) -> dict[str, Any]:
        r = rounded
        return {"fake": self.fake, "genuine": self.genuine, "unsure": self.unsure,
                "share": r(self.share), "low": r(self.low), "high": r(self.high)}  # fmt: skip


def reviewed_share(labels: Iterable[LabelValue]) -> ReviewedShare:
    """Count one label per account (already reduced) into the reviewed share."""
    counts = dict.fromkeys(LABELS, 0)
    for label in labels:
        counts[label] += 1
    fake, genuine = counts["fake"], counts["genuine"]
    n = fake + genuine
    low, high = wilson_interval(fake, n)
    return ReviewedShare(fake, genuine, counts["unsure"], fake / n if n else None, low, high)


def agrees(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Two intervals agree when they overlap (ends included)."""
    return max(a[0], b[0]) <= min(a[1], b[1])


def consensus(labels: Iterable[LabelValue]) -> LabelValue | None:
    """One account's label from its reviewers' labels: fake or genuine when every vote that is
    not ``unsure`` says so, ``unsure`` when every vote is, None when reviewers disagree."""
    votes = {label for label in labels if label != "unsure"}
    if len(votes) == 1:
        return next(iter(votes))
    if not votes:
        return "unsure"
    return None


@dataclass(frozen=True, slots=True)
class ModelCheck:
    """The model's AUC and reliability on labelled accounts (1 fake, 0 genuine)."""

    n_fake: int
    n_genuine: int
    auc: float | None
    #: Per probability bin: ``from``, ``to``, ``n``, ``mean_p``, ``observed``.
    bins: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"n_fake": self.n_fake, "n_genuine": self.n_genuine,
                "auc": rounded(self.auc), "bins": self.bins}  # fmt: skip


def model_check(labels: Sequence[int], probabilities: Sequence[float]) -> ModelCheck:
    """AUC (None until both classes are labelled) and reliability bins of the model's
    probabilities against the reviewers' labels."""
    if len(labels) != len(probabilities):
        raise ValueError("one probability per label")
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    n_fake = int(y.sum())
    return ModelCheck(n_fake, int(y.size - n_fake), auc(y, p), reliability(y, p, CHECK_BINS))
