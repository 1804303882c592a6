"""The actions under a finished report, computed from the stored outcome's typed ``Report``.

``report_actions`` (``bot.audit.report``) is what the runner adds to the report so these actions
have what they need (``Report.actions``: up to 25 varied suspicious accounts with display names,
and every sampled account's probability and reasons, compact, for the CSV). Older reports
without them still work: the actions fall back to what the report has (``Report.accounts``).
"""

from __future__ import annotations

import csv
import io
from typing import Final

from bot.audit.report import MAX_MORE, MAX_VERDICTS, report_actions
from bot.pipeline.report import Report, VerdictRow
from scoring.audit import profile_url

__all__ = ["MAX_MORE", "MAX_VERDICTS", "report_actions", "verdicts_csv"]

#: A CSV cell starting with one of these is read as a formula by spreadsheets.
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return "'" + text if text.startswith(_FORMULA) else text


def verdicts_csv(report: Report) -> tuple[bytes, bool]:
    """The sample's verdicts as CSV bytes (UTF-8), and whether it covers the whole sample.

    Without verdicts in the report, only its suspicious accounts are listed (``False``).
    Cells are formula-neutralised for spreadsheets.
    """
    actions = report.actions
    threshold = actions.threshold if actions is not None else 0.5
    stored = actions.verdicts if actions is not None else None
    complete = stored is not None and actions is not None and actions.complete
    rows: list[tuple[int, VerdictRow]]
    if stored is not None:
        rows = list(enumerate(stored))
    else:
        rows = [
            (a.position, VerdictRow(a.id, a.platform, a.handle, a.fake_probability, a.reasons))
            for a in report.accounts
        ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["position", "platform", "id", "handle", "profile", "fake_probability", "flagged",
         "reasons"]
    )  # fmt: skip
    for position, row in rows:
        writer.writerow(
            [
                position + 1,
                _cell(row.platform),
                _cell(row.id),
                _cell(row.handle),
                profile_url(row.platform, row.handle) if row.handle else "",
                f"{row.p:.4f}",
                "yes" if row.p > threshold else "no",
                _cell("; ".join(row.reasons)),
            ]
        )
    return out.getvalue().encode("utf-8"), complete
