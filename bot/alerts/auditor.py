"""Re-audit a watched account: fetch its newest followers through the shared (yielding) budgets,
score them, and summarise the audit as a ``Snapshot`` with burst members and new followers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from bot.handles import Handle
from scoring.account import Account
from scoring.audit import AuditConfig, Burst, build_report
from scoring.audit.compare import (
    HEAD_SIZE,
    MAX_EVIDENCE,
    BurstMark,
    Share,
    Snapshot,
    count_new,
    member_key,
)
from scoring.audit.quantify import ShareEstimate, estimator_for

if TYPE_CHECKING:
    import aiohttp

    from bot.settings import Settings
    from bot.sources.base import RequestGate
    from scoring.model import Model

__all__ = ["AuditResult", "Auditor", "SourceAuditor", "snapshot_of"]

log = logging.getLogger("followaudit.alerts")


@dataclass
class AuditResult:
    """One audit of a watched account: the report (JSON shape) and the scored followers, from
    which each watch takes its own snapshot (new followers are counted against its own previous
    audit) and the alert its chart."""

    report: dict[str, Any]
    followers: Sequence[Account]
    probabilities: Sequence[float]
    share: ShareEstimate
    grade: str | None
    bursts: Sequence[Burst] = ()
    followers_total: int | None = None
    estimate: Callable[[np.ndarray], ShareEstimate] | None = None
    audit_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])

    def snapshot(self, previous: Snapshot | None, at: float) -> Snapshot:
        return snapshot_of(
            self.followers, self.probabilities, share=self.share, grade=self.grade,
            bursts=self.bursts, followers_total=self.followers_total, previous=previous, at=at,
            estimate=self.estimate, audit_id=self.audit_id,
        )  # fmt: skip

    def chart_png(self, title: str | None = None) -> bytes | None:
        """The report's chart (matplotlib loads only when an alert needs it)."""
        if not len(self.probabilities):
            return None
        from scoring.audit.chart import render_chart

        created = [a.created_at for a in self.followers]
        return render_chart(self.probabilities, created, self.bursts, title=title)


class Auditor(Protocol):
    """Audits a watched account; raises ``bot.sources.SourceError`` (retryable or not)."""

    async def audit(self, platform: str, handle: str) -> AuditResult: ...


def _share(est: ShareEstimate) -> Share | None:
    if est.estimate is None:
        return None
    low = est.low if est.low is not None else est.estimate
    high = est.high if est.high is not None else est.estimate
    return Share(est.estimate, low, high)


def snapshot_of(
    followers: Sequence[Account],
    probabilities: Sequence[float] | np.ndarray,
    *,
    share: ShareEstimate,
    grade: str | None,
    bursts: Sequence[Burst],
    followers_total: int | None,
    previous: Snapshot | None,
    at: float,
    estimate: Any = None,
    audit_id: str = "",
) -> Snapshot:
    """The snapshot of an audit of ``followers`` (newest first) scored ``probabilities``.

    ``estimate(p)`` (the report's share estimator) measures the new followers' fake share.
    """
    keys = [member_key(a.id) for a in followers]
    new = count_new(keys, previous.head) if previous is not None else None
    marks = []
    for b in bursts:
        inside = followers[b.start : b.end + 1]
        names = [a.handle or a.id for a in inside][:MAX_EVIDENCE]
        members = frozenset(keys[b.start : b.end + 1])
        newcomers = None if new is None else max(0, min(b.end + 1, new) - b.start)
        marks.append(BurstMark(members, b.size, b.fake_share, tuple(names), b.kind, newcomers))
    new_share = None
    if new and estimate is not None:
        new_share = _share(estimate(np.asarray(probabilities[:new], dtype=np.float64)))
    return Snapshot(
        at=at,
        share=_share(share),
        grade=grade,
        followers_total=followers_total,
        sample_size=len(followers),
        bursts=tuple(marks),
        head=tuple(keys[:HEAD_SIZE]),
        new_followers=new,
        new_share=new_share,
        audit_id=audit_id,
    )


class SourceAuditor:
    """The real auditor: a follower source on the caller's HTTP session, the scoring model."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        model: Model,
        *,
        gate: RequestGate | None = None,
        sample: int | None = None,
        config: AuditConfig | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.model = model
        self.gate = gate
        self.sample = sample or settings.alerts.sample
        self.config = config or AuditConfig()

    async def audit(self, platform: str, handle: str) -> AuditResult:
        from bot.sources import source_for

        source = source_for(platform, self.session, self.settings, gate=self.gate)
        result = await source.fetch(Handle(platform, handle), sample=self.sample)
        followers = result.followers
        total = result.followers_total
        if total is not None and total < len(followers):
            total = len(followers)
        scored = self.model.score(followers, max_reasons=self.config.max_reasons)
        report = build_report(
            followers, scored, model_version=self.model.version,
            validation=self.model.validation, reason_labels=self.model.reason_labels,
            config=self.config, total=total, subject=handle, platform=platform,
        )  # fmt: skip
        data = report.to_dict()
        data["subject"] = result.subject_block()
        return AuditResult(
            data, followers, [float(x) for x in scored.probabilities], report.fake_share,
            report.grade, report.bursts, total, estimator_for(self.model.validation).estimate,
        )  # fmt: skip
