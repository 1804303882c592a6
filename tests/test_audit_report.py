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
