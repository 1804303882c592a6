import math

import numpy as np
import pytest

from scoring.histogram import (
    LEGACY_EDGES,
    LOGIT_EDGES,
    SCORE_EDGES,
    bin_counts,
    bin_index,
    read_edges,
)


def test_score_edges_are_the_logit_steps_as_probabilities() -> None:
    assert len(SCORE_EDGES) == len(LOGIT_EDGES)
    for p, z in zip(SCORE_EDGES, LOGIT_EDGES, strict=True):
        assert math.log(p / (1 - p)) == pytest.approx(z, abs=1e-5)
    assert read_edges(list(SCORE_EDGES)) == SCORE_EDGES


def test_probabilities_near_zero_land_in_different_bins() -> None:
    # 20 equal bins of p could not tell these apart; the logit bins can
    low = np.array([0.0005, 0.004, 0.03])
    assert len(set(bin_index(low, SCORE_EDGES).tolist())) == 3
    assert len(set(bin_index(low, LEGACY_EDGES).tolist())) == 1


def test_every_probability_is_counted_once_including_the_ends() -> None:
    p = np.array([0.0, 1e-9, 0.5, 0.999999, 1.0])
    counts = bin_counts(p, SCORE_EDGES)
    assert counts.sum() == 5 and counts[0] == 2 and counts[-1] == 2
    assert bin_counts(np.array([0.05, 0.5, 1.0]), LEGACY_EDGES).tolist()[1] == 1.0


@pytest.mark.parametrize(
    "bad", [[], [0.2, 0.1], [0.0, 0.5], [0.5, 1.0], [0.3, 0.3], ["0.5"], [True], "0.5", None]
)
def test_edges_that_cannot_cut_probabilities_are_refused(bad: object) -> None:
    assert read_edges(bad) is None
