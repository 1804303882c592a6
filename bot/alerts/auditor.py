"""Re-audit a watched account with the audit use case (``bot.audit.usecase``) through the shared
(yielding) budgets, and summarise the audit as a ``Snapshot`` with burst members and new
followers.

With a ``FollowerMemory`` a re-audit reads only the followers newer than those of the previous
audit: it reads a page at a time and stops at the first page that holds a follower it remembers,
and the newly read followers go in front of the remembered ones (up to the sample), so the audit
is judged on the same newest sample as a full read while the platform is asked for one page
instead of ten."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from bot.audit.usecase import AuditUseCase
from bot.sources.handles import Handle
from scoring.account import Account
from scoring.audit import Burst
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

    from bot.alerts.memory import FollowerMemory
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
    grade_range: tuple[str, str] | None = None

    def snapshot(self, previous: Snapshot | None, at: float) -> Snapshot:
        return snapshot_of(
            self.followers, self.probabilities, share=self.share, grade=self.grade,
            bursts=self.bursts, followers_total=self.followers_total, previous=previous, at=at,
            estimate=self.estimate, audit_id=self.audit_id, grade_range=self.grade_range,
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
    grade_range: tuple[str, str] | None = None,
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
        grade_range=grade_range,
    )


class SourceAuditor:
    """The real auditor: the audit use case (``bot.audit.usecase``, built by the caller on its
    HTTP session and model), reading only the new followers when it has a ``FollowerMemory``."""

    def __init__(
        self,
        audits: AuditUseCase,
        *,
        sample: int | None = None,
        memory: FollowerMemory | None = None,
    ) -> None:
        self.audits = audits
        self.sample = sample or audits.settings.alerts.sample
        self.memory = memory
        #: Per account, how many followers the last audit read from the platform (for figures).
        self.read: dict[tuple[str, str], int] = {}

    @property
    def session(self) -> aiohttp.ClientSession:
        return self.audits.session

    @property
    def model(self) -> Model:
        return self.audits.model

    async def audit(self, platform: str, handle: str) -> AuditResult:
        audit = await self.audits.run(Handle(platform, handle), self.sample, memory=self.memory)
        self.read[(platform, handle)] = audit.read
        report = audit.report
        return AuditResult(
            audit.to_dict(), audit.followers, [float(x) for x in audit.share_probabilities],
            report.fake_share, report.grade, report.bursts, report.sample.total,
            estimator_for(self.model.audit_validation, report.fake_share.view).estimate,
            grade_range=report.grade_range,
        )  # fmt: skip
