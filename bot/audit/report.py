"""What the runner adds to an audit's report so the chats' actions under it have what they
need (``bot.pipeline.report.Actions``): up to 25 varied suspicious accounts, with display names,
and every sampled account's probability and reasons, compact, for the CSV."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bot.pipeline.report import MAX_MORE, MAX_VERDICTS, Actions, NamedSuspect, VerdictRow
from scoring.account import Account
from scoring.audit import pick_suspicious
from scoring.audit.types import VerdictLike

__all__ = ["MAX_MORE", "MAX_VERDICTS", "report_actions"]

_MAX_REASON: Final = 120
_MAX_NAME: Final = 120


def report_actions(
    verdicts: Sequence[VerdictLike],
    accounts: Sequence[Account],
    *,
    threshold: float = 0.5,
) -> Actions:
    """The report's ``Actions`` for a sample's verdicts and accounts, in the same order (the
    sample, newest first)."""
    more = []
    for s in pick_suspicious(verdicts, MAX_MORE, threshold=threshold):
        name = accounts[s.position].display_name if s.position < len(accounts) else None
        more.append(NamedSuspect.of(s, (name or "")[:_MAX_NAME] or None))
    rows = tuple(
        VerdictRow(
            v.id,
            v.platform,
            v.handle,
            round(float(v.fake_probability), 4),
            tuple(r[:_MAX_REASON] for r in v.reasons[:3]),
        )
        for v in verdicts[:MAX_VERDICTS]
    )
    return Actions(tuple(more), rows, len(verdicts) <= MAX_VERDICTS, threshold)
