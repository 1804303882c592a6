"""What the runner adds to an audit's report so the chats' actions under it have what they
need: ``suspicious_more`` (up to 25 varied suspicious accounts, with display names) and
``verdicts`` (every sampled account's probability and reasons, compact, for the CSV)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from scoring.account import Account
from scoring.audit import pick_suspicious
from scoring.audit.types import VerdictLike

__all__ = ["MAX_MORE", "MAX_VERDICTS", "extend_report"]

#: Suspicious accounts kept for the "more" action (the audit's own maximum).
MAX_MORE: Final = 25
#: Verdicts kept for the CSV (the outcome crosses Redis in every delivery: keep it bounded).
MAX_VERDICTS: Final = 5000
_MAX_REASON: Final = 120
_MAX_NAME: Final = 120


def extend_report(
    report: dict[str, Any],
    verdicts: Sequence[VerdictLike],
    accounts: Sequence[Account],
    *,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Add ``suspicious_more`` and ``verdicts`` to a report dict (in place, and returned).

    ``verdicts`` and ``accounts`` are in the same order (the sample, newest first).
    """
    more = []
    for s in pick_suspicious(verdicts, MAX_MORE, threshold=threshold):
        item = s.to_dict()
        name = accounts[s.position].display_name if s.position < len(accounts) else None
        item["display_name"] = (name or "")[:_MAX_NAME] or None
        more.append(item)
    report["suspicious_more"] = more
    report["verdicts"] = [
        {
            "id": v.id,
            "platform": v.platform,
            "handle": v.handle,
            "p": round(float(v.fake_probability), 4),
            "reasons": [r[:_MAX_REASON] for r in v.reasons[:3]],
        }
        for v in verdicts[:MAX_VERDICTS]
    ]
    report["verdicts_complete"] = len(verdicts) <= MAX_VERDICTS
    report["threshold"] = threshold
    return report
