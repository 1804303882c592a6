"""The actions under a finished report, computed from the stored outcome's report dict.

``extend_report`` (``bot.audit.report``) is what the runner adds to the report so these actions
have what they need: ``suspicious_more`` (up to 25 varied suspicious accounts, with display
names) and ``verdicts`` (every sampled account's probability and reasons, compact, for the CSV).
Older reports without them still work: the actions fall back to what the report has.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, Final

from bot.audit.report import MAX_MORE, MAX_VERDICTS, extend_report
from scoring.audit import profile_url

__all__ = [
    "MAX_MORE",
    "MAX_VERDICTS",
    "extend_report",
    "reason_breakdown",
    "subject_of",
    "suspicious_accounts",
    "verdicts_csv",
]

#: A CSV cell starting with one of these is read as a formula by spreadsheets.
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


def subject_of(report: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
    """(platform, handle, display name) of the audited account, as far as the report says."""
    subject = report.get("subject")
    platform = str(report.get("platform") or "")
    if isinstance(subject, Mapping):
        handle = subject.get("handle")
        name = subject.get("display_name")
        return (
            str(subject.get("platform") or platform),
            str(handle) if handle else None,
            str(name) if name else None,
        )
    return platform, (str(subject) if subject else None), None


def suspicious_accounts(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every suspicious account the report keeps, most telling first (up to 25)."""
    more = report.get("suspicious_more")
    if isinstance(more, list) and more:
        return [a for a in more if isinstance(a, dict)][:MAX_MORE]
    shown = report.get("suspicious")
    return [a for a in shown if isinstance(a, dict)][:MAX_MORE] if isinstance(shown, list) else []


def reason_breakdown(report: Mapping[str, Any]) -> list[tuple[str, int]]:
    """Every reason among the flagged accounts with its count, most frequent first."""
    counts = report.get("reason_counts")
    if not isinstance(counts, Mapping):
        return []
    pairs = [(str(k), int(v)) for k, v in counts.items() if isinstance(v, int | float)]
    return sorted(pairs, key=lambda kv: (-kv[1], kv[0]))


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return "'" + text if text.startswith(_FORMULA) else text


def verdicts_csv(report: Mapping[str, Any]) -> tuple[bytes, bool]:
    """The sample's verdicts as CSV bytes (UTF-8), and whether it covers the whole sample.

    Without ``verdicts`` in the report, only its suspicious accounts are listed (``False``).
    Cells are formula-neutralised for spreadsheets.
    """
    threshold = float(report.get("threshold") or 0.5)
    rows = report.get("verdicts")
    complete = isinstance(rows, list) and report.get("verdicts_complete", True) is not False
    if not isinstance(rows, list):
        rows = [
            {
                "id": a.get("id"),
                "platform": a.get("platform"),
                "handle": a.get("handle"),
                "p": a.get("fake_probability"),
                "reasons": a.get("reasons") or [],
                "position": a.get("position"),
            }
            for a in suspicious_accounts(report)
        ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["position", "platform", "id", "handle", "profile", "fake_probability", "flagged",
         "reasons"]
    )  # fmt: skip
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            continue
        p = row.get("p")
        prob = float(p) if isinstance(p, int | float) else None
        platform = str(row.get("platform") or "")
        handle = row.get("handle")
        position = row.get("position", index)
        reasons = row.get("reasons") or []
        writer.writerow(
            [
                int(position) + 1 if isinstance(position, int) else index + 1,
                _cell(platform),
                _cell(row.get("id")),
                _cell(handle),
                profile_url(platform, str(handle)) if handle else "",
                "" if prob is None else f"{prob:.4f}",
                "" if prob is None else ("yes" if prob > threshold else "no"),
                _cell("; ".join(str(r) for r in reasons if isinstance(r, str))),
            ]
        )
    return out.getvalue().encode("utf-8"), complete
