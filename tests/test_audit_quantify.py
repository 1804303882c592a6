from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from scoring.audit.quantify import (
    METHOD_AVERAGE,
    METHOD_MIXTURE,
    METHOD_MIXTURE_UNFAMILIAR,
    METHOD_PACC,
    estimate_fake_share,
    profiles_from_validation,
)
from tests.audit_support import synth_probabilities, synth_validation


@pytest.mark.parametrize("share", [0.0, 0.05, 0.3, 0.7])
def test_mixture_estimate_is_close_and_covers_the_truth(share: float) -> None:
    rng = np.random.default_rng(7)
    errors, covered = [], 0
    for _ in range(40):
        labels = (rng.random(1000) < share).astype(int)
        truth = labels.mean()
        est = estimate_fake_share(synth_probabilities(rng, labels), synth_validation())
        assert est.method == METHOD_MIXTURE
        assert est.estimate is not None and est.low is not None and est.high is not None
        assert 0.0 <= est.low <= est.estimate <= est.high <= 1.0
        errors.append(abs(est.estimate - truth))
        covered += est.low <= truth <= est.high
    assert np.mean(errors) < 0.02
    assert covered >= 34


def test_counting_above_half_is_biased_but_the_estimate_is_not() -> None:
    rng = np.random.default_rng(1)
    labels = np.zeros(2000, dtype=int)
    p = synth_probabilities(rng, labels)
    est = estimate_fake_share(p, synth_validation())
    assert est.estimate is not None and est.estimate < 0.01
    assert np.mean(p) > 0.08  # the plain average is far off


def test_empty_sample_has_no_estimate() -> None:
    est = estimate_fake_share([], synth_validation())
    assert est.estimate is None and est.low is None and est.high is None
    assert est.to_dict() == {"estimate": None, "low": None, "high": None, "method": METHOD_MIXTURE}


def test_one_follower_gives_a_wide_interval() -> None:
    est = estimate_fake_share([0.97], synth_validation())
    assert est.estimate is not None and est.low is not None and est.high is not None
    assert est.high - est.low > 0.5


def test_all_fakes_is_near_one_and_clipped() -> None:
    est = estimate_fake_share(np.full(500, 0.99), synth_validation())
    assert est.estimate is not None and est.estimate > 0.97
    assert est.high == 1.0


def shifted_validation() -> dict[str, Any]:
    val = synth_validation()
    other = dict(val["collections"]["b"])
    shifted = np.roll(np.asarray(other["hist_neg"]), 6)
    other["hist_neg"] = list(shifted / shifted.sum())
    val["collections"]["b"] = other
    return val


def test_the_collection_that_explains_the_sample_wins() -> None:
    rng = np.random.default_rng(3)
    p = synth_probabilities(rng, (rng.random(1000) < 0.3).astype(int))
    est = estimate_fake_share(p, shifted_validation())
    assert est.method == METHOD_MIXTURE
    assert est.estimate == pytest.approx(0.3, abs=0.04)


def test_an_unfamiliar_sample_carries_the_spread_of_the_collections() -> None:
    p = np.random.default_rng(4).random(1000)  # flat: unlike any validated histogram
    same = estimate_fake_share(p, synth_validation())
    wide = estimate_fake_share(p, shifted_validation())
    assert wide.method == METHOD_MIXTURE_UNFAMILIAR
    assert same.low is not None and same.high is not None
    assert wide.low is not None and wide.high is not None
    assert wide.high - wide.low > same.high - same.low + 0.02


def test_soft_rates_only_use_adjusted_averaging() -> None:
    val = {"mean_p_pos": 0.8, "mean_p_neg": 0.1, "n_pos": 100, "n_neg": 100}
    est = estimate_fake_share(np.full(1000, 0.45), val)
    assert est.method == METHOD_PACC
    assert est.estimate == pytest.approx(0.5)


def test_without_validation_the_average_is_used() -> None:
    est = estimate_fake_share([0.2, 0.4], None)
    assert est.method == METHOD_AVERAGE
    assert est.estimate == pytest.approx(0.3)


def test_profiles_are_found_wherever_they_nest() -> None:
    val = synth_validation()
    nested = {"auc": 0.9, "pooled": val["pooled"], "per_collection": {"loco": val["collections"]}}
    pooled, cols = profiles_from_validation(nested)
    assert pooled is not None and pooled.name == "pooled"
    assert sorted(c.name.rsplit("/", 1)[-1] for c in cols) == ["a", "b"]
    assert pooled.smoothed() is not None


def test_malformed_histograms_fall_back_to_rates() -> None:
    val = {"pooled": {"mean_p_pos": 0.9, "mean_p_neg": 0.1, "hist_pos": [1, 2], "hist_neg": "x"}}
    est = estimate_fake_share(np.full(10, 0.5), val)
    assert est.method == METHOD_PACC
