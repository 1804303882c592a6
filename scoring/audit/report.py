"""The audit report: every part put together from scored followers, and its JSON shape."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict, Unpack

import numpy as np

from scoring.account import Account, format_datetime
from scoring.audit.bursts import Burst, BurstConfig, find_bursts
from scoring.audit.grade import GradeBands, grade_call, grade_label, verdict_for
from scoring.audit.inactive import InactiveShare, estimate_inactive
from scoring.audit.quantify import (
    METHOD_UNFAMILIAR,
    ShareEstimate,
    ShareEstimator,
    choose_view,
    estimator_for,
)
from scoring.audit.samples import MAX_SAMPLES, SuspiciousAccount, count_reasons, pick_suspicious
from scoring.audit.types import FloatArray, ModelLike, ScoredLike, as_probabilities

__all__ = [
    "AuditConfig",
    "AuditReport",
    "ReportOptions",
    "SampleInfo",
    "audit_accounts",
    "build_report",
    "detect_bursts",
    "score_and_report",
]


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """Every tunable of the audit, with documented defaults."""

    inactive_days: int = 90
    bands: GradeBands = field(default_factory=GradeBands)
    samples: int = 5
    #: Above this probability an account counts as flagged (samples and reason counts).
    threshold: float = 0.5
    #: Below this many followers the verdict says there is not enough data.
    min_sample: int = 30
    bursts: BurstConfig = field(default_factory=BurstConfig)
    max_reasons: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise ValueError(f"samples must be 1..{MAX_SAMPLES}, got {self.samples}")
        if self.inactive_days < 1:
            raise ValueError(f"inactive_days must be at least 1, got {self.inactive_days}")


@dataclass(frozen=True, slots=True)
class SampleInfo:
    """How many followers were audited, of how many, and how they were drawn."""

    size: int
    total: int | None = None
    #: "newest_first": the most recent followers, as platforms list them; "as_uploaded": a file.
    order: str = "newest_first"

    def describe(self) -> str:
        """For example "the 1,000 most recent of 48,210 followers"."""
        n, total = self.size, self.total
        if n == 0:
            return "no followers"
        if total is not None and total <= n:
            return "the only follower" if n == 1 else f"all {n:,} followers"
        what = "most recent" if self.order in ("newest_first", "newest") else "listed"
        if total is None:
            return f"the {what} follower" if n == 1 else f"the {n:,} {what} followers"
        if n == 1:
            return f"the {what} of {total:,} followers"
        return f"the {n:,} {what} of {total:,} followers"

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "total": self.total,
            "order": self.order,
            "description": self.describe(),
        }


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Everything a user is told about one audience; renderers turn it into messages."""

    sample: SampleInfo
    fake_share: ShareEstimate
    inactive: InactiveShare | None
    #: The firm grade, ``None`` when inconclusive (see ``grade_range``).
    grade: str | None
    verdict: str
    suspicious: tuple[SuspiciousAccount, ...]
    flagged: int
    reason_counts: Mapping[str, int]
    bursts: tuple[Burst, ...]
    model_version: str
    subject: str | None = None
    platform: str | None = None
    observed_at: datetime | None = None
    #: The grades at the interval's ends; equal letters when the grade is firm.
    grade_range: tuple[str, str] = ("A", "F")

    @property
    def sample_size(self) -> int:
        return self.sample.size

    @property
    def grade_label(self) -> str:
        """``Grade B``, or ``Grade B–F (inconclusive)`` when the evidence supports no letter."""
        return grade_label(self.grade, self.grade_range)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (issue 3's contract keys plus a few more); shares are fractions."""
        return {
            "sample_size": self.sample.size,
            "sample": self.sample.to_dict(),
            "fake_share": self.fake_share.to_dict(),
            "inactive_share": None if self.inactive is None else round(self.inactive.share, 4),
            "inactive": None if self.inactive is None else self.inactive.to_dict(),
            "grade": self.grade,
            "grade_range": list(self.grade_range),
            "verdict": self.verdict,
            "suspicious": [s.to_dict() for s in self.suspicious],
            "flagged": self.flagged,
            "reason_counts": dict(self.reason_counts),
            "bursts": [b.to_dict() for b in self.bursts],
            "model_version": self.model_version,
            "subject": self.subject,
            "platform": self.platform,
            "observed_at": format_datetime(self.observed_at),
        }


def _latest_observed(accounts: Sequence[Account]) -> datetime | None:
    seen = [a.observed_at for a in accounts if a.observed_at is not None]
    return max(seen) if seen else None


def detect_bursts(
    p: FloatArray,
    created: Sequence[datetime | None] | FloatArray,
    estimator: ShareEstimator,
    config: BurstConfig | None = None,
) -> list[Burst]:
    """Bursts judged with the model's validation: scanned on its class histograms, accepted on
    the quantified fake share, each reported with that share's interval."""

    def share_of(window: FloatArray) -> float:
        return estimator.estimate(window).estimate or 0.0

    out = []
    for b in find_bursts(p, created, config, share_of, estimator.scan_table(p)):
        window = estimator.estimate(p[b.start : b.end + 1])
        if window.estimate is not None:
            b = dataclasses.replace(b, fake_share=window.estimate, low=window.low, high=window.high)
        out.append(b)
    return out


def share_probabilities(scored: ScoredLike, view: str | None) -> FloatArray:
    """The scores the share estimate reads for a sample read against ``view``: the audit
    member's, of the records as that view returns them (``ScoredBatch.audit_probabilities_as``),
    when the scores carry them; else the scores themselves."""
    as_view = getattr(scored, "audit_probabilities_as", None)
    audit_p = as_view(view) if as_view is not None else getattr(scored, "audit_probabilities", None)
    return as_probabilities(scored.probabilities if audit_p is None else audit_p)


def build_report(
    accounts: Sequence[Account],
    scored: ScoredLike,
    *,
    model_version: str,
    validation: Mapping[str, Any] | None = None,
    reason_labels: Mapping[str, str] | None = None,
    config: AuditConfig | None = None,
    total: int | None = None,
    subject: str | None = None,
    platform: str | None = None,
    observed_at: datetime | None = None,
) -> AuditReport:
    """Assemble the report from accounts (newest first) and their scores, in the same order."""
    cfg = config or AuditConfig()
    p = as_probabilities(scored.probabilities)
    verdicts = scored.verdicts
    if len(verdicts) != len(accounts) or p.shape != (len(accounts),):
        raise ValueError("accounts, probabilities and verdicts must have the same length")
    observed = observed_at or _latest_observed(accounts)
    # The validation of records shaped like these (Bluesky profiles lack likes, lists, ...),
    # judged on the feature availability the scoring pass measured when it gives one.
    known = getattr(scored, "known", None)
    view = choose_view(validation, accounts, known)
    estimator = estimator_for(validation, view)
    # The share estimate reads the scores its validation histograms were made of (an ensemble
    # may name one member's for it, ``Model.audit_validation``; of the records as that view
    # returns them); the samples read the verdicts.
    share_p = share_probabilities(scored, view)
    if share_p.shape != p.shape:
        raise ValueError("accounts, probabilities and verdicts must have the same length")
    share = estimator.estimate(share_p)
    bursts = detect_bursts(share_p, [a.created_at for a in accounts], estimator, cfg.bursts)
    call = grade_call(share, len(accounts), cfg.bands, min_sample=cfg.min_sample)
    return AuditReport(
        # A platform's count can lag its own list: never report fewer followers than were read.
        sample=SampleInfo(len(accounts), None if total is None else max(total, len(accounts))),
        fake_share=share,
        inactive=estimate_inactive(accounts, days=cfg.inactive_days, observed_at=observed),
        # A letter only where the evidence supports one: the verdict says why when not.
        grade=call.grade,
        grade_range=call.range,
        verdict=verdict_for(
            call,
            beyond_fakes=(
                estimator.beyond_fakes(share_p) if share.method == METHOD_UNFAMILIAR else 0
            ),
        ),
        suspicious=tuple(pick_suspicious(verdicts, cfg.samples, threshold=cfg.threshold)),
        flagged=int(np.count_nonzero(p > cfg.threshold)),
        reason_counts=count_reasons(verdicts, reason_labels, threshold=cfg.threshold),
        bursts=tuple(bursts),
        model_version=model_version,
        subject=subject,
        platform=platform or (accounts[0].platform if accounts else None),
        observed_at=observed,
    )


def score_and_report(
    accounts: Sequence[Account],
    model: ModelLike,
    *,
    config: AuditConfig | None = None,
    total: int | None = None,
    subject: str | None = None,
    platform: str | None = None,
) -> tuple[ScoredLike, AuditReport]:
    """Score the followers (newest first) with ``model`` and build their report; the scores
    come back too, for what the report does not hold (the chart, every verdict)."""
    cfg = config or AuditConfig()
    scored = model.score(accounts, max_reasons=cfg.max_reasons)
    report = build_report(
        accounts,
        scored,
        model_version=model.version,
        validation=getattr(model, "audit_validation", None) or model.validation,
        reason_labels=model.reason_labels,
        config=cfg,
        total=total,
        subject=subject,
        platform=platform,
    )
    return scored, report


class ReportOptions(TypedDict, total=False):
    """The keyword options ``audit_accounts`` passes on to ``score_and_report``."""

    config: AuditConfig | None
    total: int | None
    subject: str | None
    platform: str | None


def audit_accounts(
    accounts: Sequence[Account], model: ModelLike, **options: Unpack[ReportOptions]
) -> AuditReport:
    """Score the followers (newest first) with ``model`` and build their report; the options
    are ``score_and_report``'s."""
    return score_and_report(accounts, model, **options)[1]
