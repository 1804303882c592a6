"""The typed report that crosses Redis (``bot.pipeline.report``): what it accepts, what it
refuses with ``MessageError``, and the reports stored before it (a plain subject string)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.pipeline.messages import AuditOutcome, MessageError
from bot.pipeline.report import Report
from tests.reports import report_dict, suspect

BURST = {"start": 3, "end": 42, "size": 40, "fake_share": 0.9, "fake_share_low": 0.8,
         "fake_share_high": 0.95, "created_from": "2026-01-01T00:00:00Z",
         "created_to": "2026-01-02T00:00:00Z", "kind": "cohort", "score": None}  # fmt: skip
INACTIVE = {"share": 0.2, "low": 0.1, "high": 0.3, "count": 8, "known": 40, "days": 90}


def full() -> dict[str, Any]:
    """A report with every block filled, the chats' actions included."""
    return report_dict(
        inactive=dict(INACTIVE), inactive_share=0.2, suspicious=[suspect(1)], flagged=1,
        reason_counts={"follows many, followed by few": 1}, bursts=[dict(BURST)],
        suspicious_more=[suspect(1, display_name="Bea")],
        verdicts=[{"id": "did:1", "platform": "bluesky", "handle": None, "p": 0.9,
                   "reasons": ["x"]}],
        verdicts_complete=True, threshold=0.5,
    )  # fmt: skip


def test_a_full_report_round_trips_and_reads_typed() -> None:
    data = full()
    report = Report.from_dict(data)
    assert report.to_dict() == data and list(report.to_dict()) == list(data)
    assert report.target == ("bluesky", "boss.bsky.social", None)
    assert report.audit.grade_label == "Grade C" and report.audit.bursts[0].size == 40
    assert report.accounts[0].display_name == "Bea"
    assert report.actions is not None and report.actions.verdicts is not None
    assert report.actions.verdicts[0].p == 0.9


def _set(path: str, value: Any) -> dict[str, Any]:
    data = full()
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("grade", "Z"),
        ("grade_range", ["A"]),
        ("verdict", "v" * 5000),  # a string too long
        ("verdict", 7),
        ("flagged", -1),
        ("flagged", True),  # a boolean is not a count
        ("sample_size", 99),  # not the sample's size
        ("sample.size", "100"),
        ("fake_share.estimate", float("nan")),
        ("fake_share.low", float("inf")),
        ("fake_share.method", None),
        ("inactive.days", 1.5),
        ("suspicious", [suspect(n) for n in range(26)]),  # a list too long
        ("suspicious", ["not an object"]),
        ("reason_counts", {"a": "many"}),
        ("reason_counts", {f"r{n}": 1 for n in range(1001)}),
        ("bursts.0.end", 1),  # ends before it starts
        ("bursts.0.size", 7),
        ("bursts.0.created_from", "yesterday"),
        ("subject", ["boss"]),
        ("subject.handle", ""),
        ("model_version", None),
        ("observed_at", 12),
        ("verdicts", [{"id": "x", "platform": "bluesky", "p": "high"}]),
        ("verdicts_complete", "yes"),
        ("threshold", float("-inf")),
        ("suspicious_more.0.reasons", ["ok", 3]),
    ],
)
def test_malformed_reports_are_refused(path: str, value: Any) -> None:
    with pytest.raises(MessageError):
        Report.from_dict(_set(path, value))


def test_non_finite_numbers_from_json_are_refused_through_the_outcome() -> None:
    text = json.dumps({"v": 1, "ok": True, "report": full(), "error": None})
    bad = text.replace('"estimate": 0.23', '"estimate": NaN')
    assert bad != text
    with pytest.raises(MessageError):
        AuditOutcome.from_json(bad)
    with pytest.raises(MessageError):  # a report version this code does not know
        AuditOutcome.from_dict({**json.loads(text), "report_v": 2})
    assert AuditOutcome.from_json(text).report == Report.from_dict(full())  # no report_v: 1


def test_a_report_stored_before_the_subject_block_is_read() -> None:
    """The older shape: the subject as a plain handle, no ``of``, ``description``,
    ``grade_range``, ``requests`` or ``skipped``."""
    old = report_dict(subject="alice.bsky.social", grade=None,
                      sample={"size": 100, "total": None, "order": "newest_first"})  # fmt: skip
    for key in ("grade_range", "requests", "skipped"):
        del old[key]
    report = Report.from_dict(old)
    assert report.target == ("bluesky", "alice.bsky.social", None)
    assert report.audit.grade_label == "No grade" and report.audit.sample.of is None  # type: ignore[attr-defined]
    assert report.audit.sample.describe() == "the 100 most recent followers"
    assert report.actions is None and report.accounts == ()
