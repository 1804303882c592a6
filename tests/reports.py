"""Typed reports for the renderers' tests: a complete, valid report JSON (as the worker sends)
with any key replaced, read through ``Report.from_dict`` like a report that crossed Redis."""

from __future__ import annotations

from typing import Any

from bot.pipeline.report import Report


def report_dict(**changes: Any) -> dict[str, Any]:
    """A small valid report's JSON with ``changes`` applied (top-level keys)."""
    data: dict[str, Any] = {
        "sample_size": 100,
        "sample": {"size": 100, "total": 1000, "order": "newest_first",
                   "description": "the 100 most recent of 1,000 followers", "of": 1000},
        "fake_share": {"estimate": 0.23, "low": 0.19, "high": 0.27, "method": "mixture",
                       "view": "full"},
        "inactive_share": None,
        "inactive": None,
        "grade": "C",
        "grade_range": ["C", "C"],
        "verdict": "About a quarter of the followers look fake.",
        "suspicious": [],
        "flagged": 0,
        "reason_counts": {},
        "bursts": [],
        "model_version": "fa-test-1",
        "subject": {"platform": "bluesky", "handle": "boss.bsky.social", "id": "did:plc:boss",
                    "display_name": None, "followers_count": 1000, "following_count": 10,
                    "posts_count": 5, "created_at": None},
        "platform": "bluesky",
        "observed_at": "2026-11-01T00:00:00Z",
        "requests": 2,
        "skipped": 0,
    }  # fmt: skip
    data.update(changes)
    if "sample" in changes and "sample_size" not in changes:
        data["sample_size"] = data["sample"]["size"]
    return data


def make_report(**changes: Any) -> Report:
    return Report.from_dict(report_dict(**changes))


def suspect(
    n: int, *, p: float = 0.9, reasons: list[str] | None = None, **more: Any
) -> dict[str, Any]:
    """The JSON of one suspicious account (``more``: e.g. ``display_name`` for the kept ones)."""
    return {"platform": "bluesky", "id": f"did:{n}", "handle": f"u{n}.bsky.social",
            "fake_probability": p, "reasons": reasons if reasons is not None else [f"reason {n}"],
            "reason_codes": ["follow_ratio"], "position": n, **more}  # fmt: skip


def long_report(**changes: Any) -> Report:
    """A report whose rendering is far over one Telegram message: 100 bursts, each a line."""
    bursts = [
        {"start": 50 * i, "end": 50 * i + 40, "size": 41, "fake_share": 0.9,
         "fake_share_low": 0.8, "fake_share_high": 0.95, "created_from": "2026-01-01T00:00:00Z",
         "created_to": "2026-01-02T00:00:00Z", "kind": "cohort", "score": 12.5}
        for i in range(100)
    ]  # fmt: skip
    sample = {"size": 5000, "total": 9000, "order": "newest_first", "of": 9000}
    return make_report(bursts=bursts, sample=sample, **changes)
