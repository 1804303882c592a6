from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.audit import AuditConfig, SampleInfo, build_report, render_json
from tests.audit_support import SynthBatch, synth_audience, synth_validation

CONTRACT = {
    "sample_size",
    "fake_share",
    "inactive_share",
    "grade",
    "verdict",
    "suspicious",
    "reason_counts",
    "bursts",
    "model_version",
}


def build(labels: np.ndarray, **kw: object) -> dict[str, object]:
    accounts, batch = synth_audience(labels, dates=bool(kw.pop("dates", True)))
    report = build_report(
        accounts,
        batch,
        model_version="m-1",
        validation=synth_validation(),
        **kw,  # type: ignore[arg-type]
    )
    data = json.loads(render_json(report))
    assert data == json.loads(json.dumps(report.to_dict()))
    return data  # type: ignore[no-any-return]


def test_contract_keys_and_a_found_burst() -> None:
    labels = (np.random.default_rng(4).random(1000) < 0.05).astype(int)
    labels[500:640] = 1
    data = build(labels)
    assert set(data) >= CONTRACT
    share = data["fake_share"]
    assert isinstance(share, dict) and set(share) >= {"estimate", "low", "high", "method"}
    assert share["low"] <= labels.mean() <= share["high"]
    (burst,) = data["bursts"]  # type: ignore[misc]
    assert abs(burst["start"] - 500) <= 10 and abs(burst["end"] - 639) <= 10
    assert set(burst) >= {"start", "end", "size", "fake_share", "created_from", "created_to"}
    for s in data["suspicious"]:  # type: ignore[attr-defined]
        assert set(s) >= {"platform", "id", "handle", "fake_probability", "reasons"}


def test_sample_of_one_all_fakes_and_no_dates() -> None:
    one = build(np.ones(1, dtype=int))
    assert one["sample_size"] == 1 and str(one["verdict"]).startswith("Not enough data")
    fakes = build(np.ones(400, dtype=int), dates=False)
    assert fakes["grade"] == "F" and fakes["bursts"] == []
    assert fakes["fake_share"]["estimate"] > 0.95  # type: ignore[index]


def test_lengths_must_agree() -> None:
    accounts, _ = synth_audience(np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="same length"):
        build_report(accounts, SynthBatch(np.zeros(2), []), model_version="m")


def test_sample_descriptions() -> None:
    assert SampleInfo(1000, 48210).describe() == "the 1,000 most recent of 48,210 followers"
    assert SampleInfo(1000).describe() == "the 1,000 most recent followers"
    assert SampleInfo(12, 12).describe() == "all 12 followers"
    assert SampleInfo(0).describe() == "no followers"


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="samples"):
        AuditConfig(samples=26)
    with pytest.raises(ValueError, match="inactive_days"):
        AuditConfig(inactive_days=0)


def test_missing_probabilities_are_read_as_undecided() -> None:
    accounts, batch = synth_audience(np.zeros(100, dtype=int))
    batch.probabilities[:10] = np.nan
    report = build_report(accounts, batch, model_version="m", validation=synth_validation())
    data = json.loads(render_json(report))
    assert 0.0 <= data["fake_share"]["estimate"] <= 0.2


def test_a_platform_count_below_the_sample_read_is_raised_to_it() -> None:
    labels = np.zeros(40, dtype=int)
    assert build(labels, total=25)["sample"]["total"] == 40  # type: ignore[index]
    assert build(labels, total=900)["sample"]["total"] == 900  # type: ignore[index]
    assert build(labels)["sample"]["total"] is None  # type: ignore[index]


@pytest.mark.parametrize("n", [1, 29])
def test_no_grade_below_the_minimum_sample(n: int) -> None:
    data = build(np.zeros(n, dtype=int))
    assert data["grade"] is None and "Not enough data" in str(data["verdict"])
    assert build(np.zeros(30, dtype=int))["grade"] is not None


def test_a_sample_richer_than_the_view_it_is_read_against_is_scored_as_that_view() -> None:
    # Instagram exports carry counts plus a bio length and handle statistics, but no dates: the
    # nearest validated view is `counts`, whose histograms were made of bare counts. The share
    # estimate must read the sample's scores as bare counts too, not scores of richer records.
    from scoring.account import Account
    from scoring.audit import score_and_report
    from scoring.audit.quantify import estimator_for
    from scoring.audit.report import share_probabilities
    from scoring.model import load_model
    from scoring.views import seen_as

    model = load_model()
    rng = np.random.default_rng(11)
    accounts = [
        Account(
            platform="instagram",
            id=str(i),
            followers_count=int(rng.lognormal(5, 1.5)),
            following_count=int(rng.lognormal(6, 1)),
            posts_count=int(rng.lognormal(3, 1.5)),
            extra={
                "bio_length": int(rng.integers(0, 80)),
                "handle_length": int(rng.integers(5, 15)),
                "handle_digit_count": int(rng.integers(0, 4)),
            },
        )
        for i in range(300)
    ]
    scored, report = score_and_report(accounts, model)
    assert report.fake_share.view == "counts"
    as_counts = model.predict_audit(seen_as(accounts, "counts"))
    assert not np.allclose(as_counts, model.predict_audit(accounts))  # the extra fields count
    assert np.array_equal(share_probabilities(scored, "counts"), as_counts)
    read = estimator_for(model.audit_validation, "counts").estimate(as_counts)
    assert (read.estimate, read.low, read.high) == (
        report.fake_share.estimate,
        report.fake_share.low,
        report.fake_share.high,
    )
    # the records as they are, for the full view (and when no view is named)
    assert np.array_equal(share_probabilities(scored, "full"), model.predict_audit(accounts))
    assert np.array_equal(share_probabilities(scored, None), model.predict_audit(accounts))
