from __future__ import annotations

import pytest

from scoring.audit.grade import (
    GradeBands,
    grade_call,
    grade_for,
    grade_label,
    share_text,
    verdict_for,
)
from scoring.audit.quantify import METHOD_MIXTURE, METHOD_UNFAMILIAR, ShareEstimate


def est(e: float | None, lo: float | None = None, hi: float | None = None) -> ShareEstimate:
    return ShareEstimate(e, e if lo is None else lo, e if hi is None else hi, "test")


@pytest.mark.parametrize(
    ("share", "grade"),
    [(0.0, "A"), (0.05, "A"), (0.06, "B"), (0.10, "B"), (0.2, "C"), (0.3, "D"), (0.36, "F")],
)
def test_default_bands(share: float, grade: str) -> None:
    assert grade_for(est(share)) == grade


def test_bands_are_configurable_and_checked() -> None:
    assert grade_for(est(0.06), GradeBands(a=0.1, b=0.2, c=0.3, d=0.4)) == "A"
    with pytest.raises(ValueError, match="rise"):
        GradeBands(a=0.3, b=0.2)


def test_no_estimate_no_grade() -> None:
    assert grade_for(ShareEstimate(None, None, None, "m")) is None
    assert "not enough data" in verdict_for(grade_call(ShareEstimate(None, None, None, "m"), 0))


def test_share_text_uses_an_en_dash_interval() -> None:
    assert share_text(est(0.234, 0.19, 0.27)) == "23% (19–27%)"
    assert share_text(ShareEstimate(None, None, None, "m")) == "unknown"


def test_verdict_says_when_data_is_thin_or_uncertain() -> None:
    tiny = verdict_for(grade_call(est(1.0, 0.2, 1.0), 1))
    assert tiny.startswith("Not enough data") and "1 follower " in tiny
    wide = verdict_for(grade_call(est(0.2, 0.05, 0.45), 200))
    assert wide.startswith("Inconclusive") and "20% (5–45%)" in wide and "A to F" in wide
    two = verdict_for(grade_call(est(0.09, 0.06, 0.18), 200))
    assert "uncertain, the interval spans two grades" in two
    firm = verdict_for(grade_call(est(0.02, 0.01, 0.03), 1000))
    assert firm.startswith("Looks clean") and "uncertain" not in firm
    assert "Grade" not in firm


def test_an_unfamiliar_sample_gets_an_inconclusive_verdict_not_a_firm_one() -> None:
    unfamiliar = ShareEstimate(0.41, 0.0, 1.0, METHOD_UNFAMILIAR)
    text = verdict_for(grade_call(unfamiliar, 1000))
    assert text.startswith("Inconclusive") and "41% (0–100%)" in text
    assert "no single grade fits" in text and "Heavily inflated" not in text
    # a validated fit over five bands is no firmer: it says why in other words
    assert "spans grades A to F" in verdict_for(
        grade_call(ShareEstimate(0.41, 0.0, 1.0, METHOD_MIXTURE), 1000)
    )


def test_an_unfamiliar_verdict_says_how_many_followers_score_beyond_the_validated_fakes() -> None:
    unfamiliar = ShareEstimate(0.35, 0.0, 1.0, METHOD_UNFAMILIAR)
    many = verdict_for(grade_call(unfamiliar, 60), beyond_fakes=18)
    assert "(18 of them score higher than 99% of the fakes it was validated on)" in many
    assert many.startswith("Inconclusive") and many.endswith("no single grade fits.")
    assert "(1 of them scores higher" in verdict_for(grade_call(unfamiliar, 60), beyond_fakes=1)
    assert "99%" not in verdict_for(grade_call(unfamiliar, 60))
    # a validated fit says nothing of it
    assert "99%" not in verdict_for(
        grade_call(ShareEstimate(0.35, 0.3, 0.4, METHOD_MIXTURE), 60), beyond_fakes=18
    )


@pytest.mark.parametrize(
    ("share", "size", "method", "grade", "grade_range", "why"),
    [
        ((0.02, 0.01, 0.04), 1000, METHOD_MIXTURE, "A", ("A", "A"), "firm"),
        ((0.06, 0.03, 0.09), 1000, METHOD_MIXTURE, "B", ("A", "B"), "firm"),
        ((0.2, 0.05, 0.45), 1000, METHOD_MIXTURE, None, ("A", "F"), "wide"),
        ((0.41, 0.0, 1.0), 1000, METHOD_MIXTURE, None, ("A", "F"), "wide"),
        ((0.3, 0.25, 0.33), 1000, METHOD_UNFAMILIAR, None, ("D", "D"), "unfamiliar"),
        ((1.0, 0.08, 1.0), 1, METHOD_MIXTURE, None, ("B", "F"), "small"),
        ((None, None, None), 0, METHOD_MIXTURE, None, ("A", "F"), "empty"),
    ],
)
def test_a_letter_only_where_the_evidence_supports_one(
    share: tuple[float | None, ...],
    size: int,
    method: str,
    grade: str | None,
    grade_range: tuple[str, str],
    why: str,
) -> None:
    call = grade_call(ShareEstimate(*share, method), size)
    assert (call.grade, call.range, call.why) == (grade, grade_range, why)
    assert grade_for(ShareEstimate(*share, method), sample_size=size) == grade


def test_grade_labels_follow_one_rule() -> None:
    assert grade_label("B", ["A", "B"]) == "Grade B"
    assert grade_label(None, ["B", "F"]) == "Grade B–F (inconclusive)"
    assert grade_label(None, ("D", "D")) == "Grade D (inconclusive)"
    # a stored report that predates grade_range, or one that is not ours
    assert grade_label(None, None) == "No grade"
    assert grade_label(None, ["<b>", "F"]) == "No grade"
