from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from scoring.audit import quantify
from scoring.audit.quantify import (
    METHOD_AVERAGE,
    METHOD_MIXTURE,
    METHOD_PACC,
    METHOD_UNFAMILIAR,
    ShareEstimator,
    estimate_fake_share,
    read_profiles,
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
    assert est.to_dict() == {
        "estimate": None,
        "low": None,
        "high": None,
        "method": METHOD_MIXTURE,
        "view": None,
    }


def test_one_follower_gives_a_wide_interval() -> None:
    est = estimate_fake_share([0.97], synth_validation())
    assert est.estimate is not None and est.low is not None and est.high is not None
    assert est.high - est.low > 0.5


def test_all_fakes_is_near_one_and_clipped() -> None:
    est = estimate_fake_share(np.full(500, 0.99), synth_validation())
    assert est.estimate is not None and est.estimate > 0.97
    assert est.high == 1.0


def shifted_validation(*, inverted: bool = False) -> dict[str, Any]:
    """Collection b scores differently: its fakes lower, or (inverted) its classes swapped."""
    val = synth_validation()
    other = dict(val["collections"]["b"])
    if inverted:
        other["hist_pos"], other["hist_neg"] = other["hist_neg"], other["hist_pos"]
    else:
        shifted = np.roll(np.asarray(other["hist_pos"]), -4)
        other["hist_pos"] = list(shifted / shifted.sum())
    val["collections"]["b"] = other
    return val


def test_the_collection_that_explains_the_sample_wins() -> None:
    rng = np.random.default_rng(3)
    p = synth_probabilities(rng, (rng.random(1000) < 0.3).astype(int))
    est = estimate_fake_share(p, shifted_validation())
    assert est.method == METHOD_MIXTURE
    assert est.estimate == pytest.approx(0.3, abs=0.04)


def test_an_unfamiliar_sample_is_counted_with_a_range_over_the_collections_rates() -> None:
    p = np.random.default_rng(4).random(1000)  # flat: unlike any validated histogram
    val = synth_validation()
    val["collections"]["b"] = dict(val["collections"]["b"], tpr=0.6, fpr=0.2)
    est = estimate_fake_share(p, val)
    assert est.method == METHOD_UNFAMILIAR
    count = float(np.mean(p >= 0.5))
    # the count, adjusted by pooled's, a's and b's rates: (count - fpr)/(tpr - fpr)
    answers = [count, (count - 0.03) / 0.92, (count - 0.03) / 0.92, (count - 0.2) / 0.4]
    assert est.estimate == pytest.approx(float(np.median(answers)))
    assert est.low is not None and est.high is not None
    # b's adjusted count (about 0.82) is inside, and the interval reaches beyond every answer
    assert est.low < min(answers) - 0.02 and est.high > max(answers) + 0.02


def unseen_validation(tprs: list[float], fprs: list[float]) -> dict[str, Any]:
    """The synthetic validation with a ``loco`` block of collections with the given rates."""
    val = synth_validation()
    loco = {
        f"c{i}": dict(val["pooled"], tpr=t, fpr=f)
        for i, (t, f) in enumerate(zip(tprs, fprs, strict=True))
    }
    return {
        "cv": {"pooled": val["pooled"], "collections": val["collections"]},
        "loco": {"pooled": val["pooled"], "collections": loco},
    }


def test_an_unfamiliar_interval_spans_what_a_new_collection_could_do() -> None:
    p = np.random.default_rng(5).random(1000)
    alike = estimate_fake_share(p, unseen_validation([0.9, 0.92, 0.91], [0.05, 0.06, 0.05]))
    apart = estimate_fake_share(p, unseen_validation([0.95, 0.6, 0.8], [0.02, 0.3, 0.1]))
    assert alike.method == apart.method == METHOD_UNFAMILIAR
    assert alike.low is not None and alike.high is not None
    assert apart.low is not None and apart.high is not None
    # collections the model never saw disagree: a new one could too, so the interval is wider
    assert apart.high - apart.low > alike.high - alike.low + 0.2
    assert apart.low < 0.2


def shifted_population() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A population scored unlike the cv collections (fakes around 0.55, genuines around 0.25),
    30% fake: its labels, probabilities and the class histograms it was drawn from."""
    rng = np.random.default_rng(6)
    labels = (rng.random(1000) < 0.3).astype(int)
    mid = (np.arange(20) + 0.5) / 20
    pos = np.exp(-(((mid - 0.55) / 0.08) ** 2))
    neg = np.exp(-(((mid - 0.25) / 0.08) ** 2))
    pos, neg = pos / pos.sum(), neg / neg.sum()
    bins = np.where(labels == 1, rng.choice(20, 1000, p=pos), rng.choice(20, 1000, p=neg))
    return labels, (bins + rng.random(1000)) / 20, pos, neg


def test_unseen_collection_histograms_are_candidates_of_the_mixture() -> None:
    labels, p, pos, neg = shifted_population()
    val = unseen_validation([0.9, 0.9], [0.05, 0.05])
    without = estimate_fake_share(p, val)
    unseen = dict(val["loco"]["collections"]["c0"], hist_pos=list(pos), hist_neg=list(neg))
    loco = {"pooled": val["cv"]["pooled"], "collections": {"c0": unseen}}
    with_unseen = estimate_fake_share(p, {"cv": val["cv"], "loco": loco})
    assert without.method == METHOD_UNFAMILIAR
    assert with_unseen.method == METHOD_MIXTURE
    assert with_unseen.estimate == pytest.approx(labels.mean(), abs=0.04)
    assert with_unseen.low is not None and with_unseen.high is not None
    assert with_unseen.low <= labels.mean() <= with_unseen.high


def test_soft_rates_only_use_adjusted_averaging() -> None:
    val = {"mean_p_pos": 0.8, "mean_p_neg": 0.1, "n_pos": 100, "n_neg": 100}
    est = estimate_fake_share(np.full(1000, 0.45), val)
    assert est.method == METHOD_PACC
    assert est.estimate == pytest.approx(0.5)


def test_without_validation_the_average_is_used() -> None:
    est = estimate_fake_share([0.2, 0.4], None)
    assert est.method == METHOD_AVERAGE
    assert est.estimate == pytest.approx(0.3)


def test_profiles_in_the_scoring_model_shape() -> None:
    val = synth_validation()
    shaped = {
        "description": "x",
        "cv": {"pooled": val["pooled"], "collections": val["collections"]},
        "loco": {"pooled": val["pooled"], "collections": {"a": val["pooled"], "bad": {"x": 1}}},
        "counts_only": {"cv": {"pooled": val["pooled"]}},
    }
    prof = read_profiles(shaped)
    assert prof.pooled is not None and prof.pooled.name == "cv/pooled"
    assert [c.name for c in prof.collections] == ["cv/a", "cv/b"]
    assert [c.name for c in prof.unseen] == ["loco/a"]
    flat = read_profiles(val)
    assert flat.pooled is not None and len(flat.collections) == 2 and flat.unseen == []
    assert read_profiles({"mean_p_pos": 0.9, "mean_p_neg": 0.1}).pooled is not None
    assert read_profiles({}).pooled is None


def test_malformed_histograms_fall_back_to_rates() -> None:
    val = {"pooled": {"mean_p_pos": 0.9, "mean_p_neg": 0.1, "hist_pos": [1, 2], "hist_neg": "x"}}
    est = estimate_fake_share(np.full(10, 0.5), val)
    assert est.method == METHOD_PACC


def test_followers_beyond_the_validated_fakes_are_counted() -> None:
    hist_pos = [0.0] * 10 + [0.125] * 8 + [0.0, 0.0]  # fakes validated up to p = 0.9 only
    hist_neg = [0.1] * 10 + [0.0] * 10
    prof = {"n_pos": 500, "n_neg": 500, "mean_p_pos": 0.7, "mean_p_neg": 0.25,
            "hist_pos": hist_pos, "hist_neg": hist_neg}  # fmt: skip
    estimator = ShareEstimator({"pooled": prof})
    assert estimator.beyond_fakes([0.95, 0.5, 0.91, 0.899, 1.0]) == 3
    assert estimator.beyond_fakes([]) == 0
    # fakes validated right up to 1: nothing is beyond them
    assert ShareEstimator(synth_validation()).beyond_fakes([0.999]) == 0
    assert ShareEstimator(None).beyond_fakes([0.999]) == 0


def test_a_collection_validated_on_few_accounts_never_vouches_for_a_sample() -> None:
    _, p, pos, neg = shifted_population()
    val = unseen_validation([0.9], [0.05])
    tiny = dict(val["loco"]["collections"]["c0"], hist_pos=list(pos), hist_neg=list(neg))
    # the same shapes from 2,000 accounts of each class explain the sample (see above); from 40
    # they are too noisy to tell this sample from many others: they can only widen an interval
    tiny.update(n_pos=40, n_neg=40)
    loco = {"pooled": val["cv"]["pooled"], "collections": {"c0": tiny}}
    assert estimate_fake_share(p, {"cv": val["cv"], "loco": loco}).method == METHOD_UNFAMILIAR


def _packaged_bluesky() -> tuple[ShareEstimator, np.ndarray, np.ndarray]:
    """The packaged model's bluesky-view estimator (on the audit member's validation, as the
    audit reads it), its pooled genuine histogram and each bin's middle probability."""
    from scoring.model import load_model

    estimator = ShareEstimator(load_model().audit_validation, "bluesky")
    assert estimator.pooled is not None and estimator.pooled.hist_neg is not None
    edges = np.asarray([0.0, *estimator.edges, 1.0])
    return estimator, estimator.pooled.hist_neg, (edges[:-1] + edges[1:]) / 2


@pytest.mark.parametrize("dump", [0, 100, 300, 600])
def test_fakes_beyond_every_validated_one_make_the_answer_surer_not_unfamiliar(dump: int) -> None:
    estimator, hist_neg, middles = _packaged_bluesky()
    rng = np.random.default_rng(dump)
    genuine = middles[rng.choice(len(hist_neg), 1000 - dump, p=hist_neg)]
    blatant = np.full(dump, 0.99999)  # scores above 99% of the validated fakes
    assert estimator.beyond_fakes(blatant) == dump
    est = estimator.estimate(np.concatenate((blatant, genuine)))
    assert est.method == METHOD_MIXTURE
    assert est.low is not None and est.high is not None
    assert est.low <= dump / 1000 <= est.high and est.high - est.low < 0.06


def _edge_moved_by_a_hair() -> dict[str, Any]:
    """The packaged validation with 0.5% of one never-seen collection's bluesky-view fakes moved
    one bin down: the strict bottom lump's edge (where some collection's fakes pass 1%) then
    moves down a bin, as a retraining on another machine did."""
    from scoring.model import load_model

    validation = copy.deepcopy(dict(load_model().audit_validation))
    loco = validation["views"]["bluesky"]["loco"]["collections"]
    fakes = loco["twitter-human-bots-kaggle-2020"]["hist_pos"]
    fakes[4], fakes[5] = fakes[4] + 0.005, fakes[5] - 0.005
    return validation


@pytest.mark.parametrize("dump", [0, 300])
def test_followers_more_ordinary_than_the_validated_ones_stay_familiar_when_the_edge_moves(
    dump: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, hist_neg, middles = _packaged_bluesky()
    rng = np.random.default_rng(7)
    # 700 people, 300 of them more ordinary than nearly every validated genuine account (the
    # two bins below the packaged lump's edge), the rest like the validated ones
    upper = np.where(np.arange(len(hist_neg)) >= 5, hist_neg, 0.0)
    people = np.concatenate(
        (
            middles[rng.choice([3, 4], 300)],
            middles[rng.choice(len(hist_neg), 400, p=upper / upper.sum())],
        )
    )
    p = np.concatenate((np.full(dump, 0.99999), people))
    moved = _edge_moved_by_a_hair()
    estimator = ShareEstimator(moved, "bluesky")
    est = estimator.estimate(p)
    assert est.method == METHOD_MIXTURE
    assert est.low is not None and est.high is not None
    truth = dump / len(p)
    assert est.low <= truth <= est.high and est.high - est.low < 0.06
    # the strict edge alone reads the same sample as unfamiliar: 0-100%, no grade possible
    monkeypatch.setattr(quantify, "LUMP_WIDE_FAKE_MASS", quantify.EXTREME_FAKE_MASS)
    strict = ShareEstimator(moved, "bluesky").estimate(p)
    assert strict.method == METHOD_UNFAMILIAR
