"""The review's pure parts: the random draw, the reviewed share, agreement, the model check."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.audit.inactive import wilson_interval
from scoring.review import (
    agrees,
    consensus,
    draw,
    model_check,
    reviewed_share,
    seed_of,
)

SIZE, N, SEEDS = 200, 25, 4000


def _chi_square(counts: np.ndarray, expected: float) -> float:
    return float(((counts - expected) ** 2 / expected).sum())


#: df = SIZE - 1 = 199: mean 199, sd about 20; beyond 6 sd is a failure of uniformity.
CRITICAL = (SIZE - 1) + 6 * np.sqrt(2 * (SIZE - 1))


def test_draw_is_uniform_over_the_sample_not_by_score() -> None:
    # The sample is sorted by score: index i has probability i / SIZE. A draw favouring high
    # scores would pick high indices more often.
    scores = np.arange(SIZE) / SIZE
    counts = np.zeros(SIZE)
    first = np.zeros(SIZE)
    mean_scores = []
    for seed in range(SEEDS):
        picked = draw(SIZE, N, seed_of(f"review-{seed}"))
        assert len(set(picked)) == N and all(0 <= i < SIZE for i in picked)
        counts[picked] += 1
        first[picked[0]] += 1
        mean_scores.append(scores[picked].mean())
    assert _chi_square(counts, SEEDS * N / SIZE) < CRITICAL
    # the first account shown is uniform too (the order is random, not by score)
    assert _chi_square(first, SEEDS / SIZE) < CRITICAL
    # the drawn accounts' mean score is the sample's (standard error ~0.057/sqrt(25*4000))
    assert abs(np.mean(mean_scores) - scores.mean()) < 0.005


def test_the_uniformity_test_catches_a_draw_that_favours_high_scores() -> None:
    """The same statistic on a draw weighted by score fails: the test above has power."""
    scores = (np.arange(SIZE) + 1) / SIZE
    rng = np.random.default_rng(1)
    counts = np.zeros(SIZE)
    for _ in range(SEEDS):
        counts[rng.choice(SIZE, size=N, replace=False, p=scores / scores.sum())] += 1
    assert _chi_square(counts, SEEDS * N / SIZE) > CRITICAL


def test_draw_is_seeded_bounded_and_handles_small_samples() -> None:
    seed = seed_of("abc")
    assert draw(1000, 25, seed) == draw(1000, 25, seed)
    assert draw(1000, 25, seed) != draw(1000, 25, seed_of("abd"))
    assert sorted(draw(10, 25, seed)) == list(range(10))
    assert draw(0, 25, seed) == []
    with pytest.raises(ValueError):
        draw(-1, 3, seed)


def test_reviewed_share_leaves_unsure_out_and_counts_it() -> None:
    share = reviewed_share(["fake"] * 3 + ["genuine"] * 7 + ["unsure"] * 5)
    assert (share.fake, share.genuine, share.unsure, share.decided) == (3, 7, 5, 10)
    assert share.share == pytest.approx(0.3)
    assert (share.low, share.high) == pytest.approx(wilson_interval(3, 10))
    assert 0.10 < share.low < 0.11 and 0.60 < share.high < 0.61
    empty = reviewed_share(["unsure"])
    assert empty.share is None and (empty.low, empty.high) == (0.0, 1.0)
    assert share.to_dict()["share"] == 0.3


def test_agreement_is_overlap() -> None:
    assert agrees((0.1, 0.3), (0.3, 0.5))
    assert agrees((0.1, 0.6), (0.2, 0.3))
    assert not agrees((0.1, 0.29), (0.3, 0.5))


def test_consensus_of_reviewers() -> None:
    assert consensus(["fake", "fake"]) == "fake"
    assert consensus(["genuine", "unsure"]) == "genuine"
    assert consensus(["unsure", "unsure"]) == "unsure"
    assert consensus(["fake", "genuine"]) is None


def test_model_check_auc_and_bins() -> None:
    check = model_check([1, 1, 0, 0, 0], [0.9, 0.7, 0.8, 0.1, 0.05])
    assert (check.n_fake, check.n_genuine) == (2, 3)
    assert check.auc == pytest.approx(5 / 6)
    assert [b["n"] for b in check.bins] == [2, 0, 0, 1, 2]
    assert check.bins[4]["observed"] == 0.5
    assert model_check([1], [0.9]).auc is None
    assert model_check([], []).auc is None
    with pytest.raises(ValueError):
        model_check([1], [])
