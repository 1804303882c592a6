"""What the buttons under a report show, computed from the stored outcome's report (pure).

The report is the JSON dict a worker stored (``AuditReport.to_dict()`` plus the runner's blocks).
``report["verdicts"]``, when the runner includes it, lists every sampled account's verdict
(``platform, id, handle, fake_probability, reasons``); without it only ``report["suspicious"]``
is known, and the actions work on those.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FLAG_THRESHOLD",
    "MAX_CSV_ROWS",
    "Breakdown",
    "Page",
    "breakdown",
    "more_suspicious",
    "subject_of",
    "suspicious_rows",
    "verdict_rows",
    "verdicts_csv",
]

FLAG_THRESHOLD = 0.5
#: Rows in a verdicts CSV at most (the sample maximum is far below).
MAX_CSV_ROWS = 50_000
_CSV_FIELDS = ("position", "platform", "id", "handle", "fake_probability", "reasons")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _rows(value: Any) -> list[Mapping[str, Any]]:
    return [r for r in value if isinstance(r, Mapping)] if isinstance(value, list) else []


def _p(row: Mapping[str, Any]) -> float:
    value = row.get("fake_probability")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def subject_of(report: Mapping[str, Any]) -> tuple[str, str]:
    """(platform, handle) of the audited account, whichever shape ``subject`` has."""
    subject = report.get("subject")
    if isinstance(subject, Mapping):
        return str(subject.get("platform") or report.get("platform") or ""), str(
            subject.get("handle") or ""
        )
    return str(report.get("platform") or ""), str(subject or "")


def verdict_rows(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every known verdict, in sample order: ``verdicts`` when stored, else the samples."""
    rows = _rows(report.get("verdicts"))
    if rows:
        return rows
    return sorted(_rows(report.get("suspicious")), key=lambda r: int(r.get("position") or 0))


def suspicious_rows(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Flagged accounts: the report's picked samples first (in their order), then every other
    flagged verdict, most likely fake first."""
    picked = _rows(report.get("suspicious"))
    seen = {str(r.get("id")) for r in picked}
    rest = [
        r
        for r in _rows(report.get("verdicts"))
        if _p(r) > FLAG_THRESHOLD and str(r.get("id")) not in seen
    ]
    rest.sort(key=lambda r: -_p(r))
    return picked + rest


@dataclass(frozen=True, slots=True)
class Page:
    """A page of suspicious accounts: ``rows`` from ``offset``; ``next_offset`` None at the end."""

    rows: Sequence[Mapping[str, Any]]
    offset: int
    total: int
    next_offset: int | None


def more_suspicious(report: Mapping[str, Any], offset: int, count: int = 10) -> Page:
    """The suspicious accounts from ``offset`` on (the report shows the first few itself)."""
    rows = suspicious_rows(report)
    offset = max(0, min(offset, len(rows)))
    page = rows[offset : offset + max(1, count)]
    end = offset + len(page)
    return Page(page, offset, len(rows), end if end < len(rows) else None)


@dataclass(frozen=True, slots=True)
class Breakdown:
    """How many flagged accounts give each reason, most frequent first."""

    flagged: int
    sample: int
    counts: Sequence[tuple[str, int]]


def breakdown(report: Mapping[str, Any]) -> Breakdown:
    counts = report.get("reason_counts")
    items = (
        [(str(k), int(v)) for k, v in counts.items() if isinstance(v, int)]
        if isinstance(counts, Mapping)
        else []
    )
    items.sort(key=lambda kv: (-kv[1], kv[0]))
    sample = report.get("sample")
    size = sample.get("size") if isinstance(sample, Mapping) else report.get("sample_size")
    return Breakdown(int(report.get("flagged") or 0), int(size or 0), items)


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = str(value if value is not None else "")
    return "'" + text if text.startswith(_FORMULA_START) else text


def verdicts_csv(report: Mapping[str, Any]) -> bytes:
    """The sample's verdicts as UTF-8 CSV (formula-safe cells), one row per account."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_FIELDS)
    for n, row in enumerate(verdict_rows(report)[:MAX_CSV_ROWS]):
        reasons = row.get("reasons")
        writer.writerow(
            [
                _cell(row.get("position", n)),
                _cell(row.get("platform")),
                _cell(row.get("id")),
                _cell(row.get("handle")),
                f"{_p(row):.4f}",
                _cell("; ".join(str(r) for r in reasons) if isinstance(reasons, list) else ""),
            ]
        )
    return out.getvalue().encode("utf-8")
