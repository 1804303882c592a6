"""The audit report as it crosses Redis: a typed, frozen ``Report`` with a validating
``from_dict``, like ``bot.pipeline.messages`` does for jobs.

``Report.to_dict()`` is the JSON of ``followaudit audit --json``: scoring's report
(``scoring.audit.AuditReport.to_dict``) with the audited account as the ``subject`` block, the
``sample`` block with ``of`` (the platform's follower count), ``requests`` and ``skipped``; a
report the worker made for the chats adds the keys of its ``Actions`` (``suspicious_more``,
``verdicts``, ``verdicts_complete``, ``threshold``). ``from_dict`` refuses anything malformed with
``MessageError`` (wrong types, strings or lists too long, floats that are not finite); it also
reads the shape of reports stored before the subject became a block (``"subject": "alice.test"``,
no ``of``, no ``grade_range``, no ``requests``). The report's format version travels beside it
(the outcome's ``report_v``), never inside it, so the CLI's JSON keeps its keys.

The numbers are scoring's own typed report (``Report.audit``, a ``scoring.audit.AuditReport``
whose ``subject`` is the handle and whose ``sample`` is a ``Sample``), so each chat renders a
report at its edge with scoring's renderers (``scoring.audit.render_html`` ...) or its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Final

from bot.pipeline import fields as f
from bot.pipeline.fields import MAX_TEXT, MessageError
from scoring.account import format_datetime
from scoring.audit.bursts import Burst
from scoring.audit.grade import GRADES
from scoring.audit.inactive import InactiveShare
from scoring.audit.quantify import ShareEstimate
from scoring.audit.report import AuditReport, SampleInfo
from scoring.audit.samples import MAX_SAMPLES, SuspiciousAccount

__all__ = [
    "MAX_MORE",
    "MAX_VERDICTS",
    "NO_RANGE",
    "VERSION",
    "Actions",
    "NamedSuspect",
    "Report",
    "Sample",
    "Subject",
    "VerdictRow",
]

#: The report's format version (the outcome carries it as ``report_v``).
VERSION: Final = 1
#: Suspicious accounts kept for the chats' "more" action (the audit's own maximum).
MAX_MORE: Final = MAX_SAMPLES
#: Verdicts kept for the CSV (the outcome crosses Redis in every delivery: keep it bounded).
MAX_VERDICTS: Final = 5000
_MAX_BURSTS: Final = 100
_MAX_REASONS: Final = 50
_MAX_COUNTS: Final = 1000
_SHORT: Final = 256


def _share(obj: Mapping[str, Any]) -> ShareEstimate:
    return ShareEstimate(
        f.opt_number(obj, "estimate"), f.opt_number(obj, "low"), f.opt_number(obj, "high"),
        f.text(obj, "method", max_len=MAX_TEXT, empty=True), f.opt_text(obj, "view"),
    )  # fmt: skip


def _inactive(obj: Mapping[str, Any]) -> InactiveShare:
    return InactiveShare(
        f.number(obj, "share"), f.number(obj, "low"), f.number(obj, "high"),
        f.count(obj, "count"), f.count(obj, "known"), f.count(obj, "days"),
    )  # fmt: skip


def _burst(obj: Mapping[str, Any]) -> Burst:
    start, end = f.count(obj, "start"), f.count(obj, "end")
    if end < start or obj.get("size", end - start + 1) != end - start + 1:
        raise MessageError("a burst must end after it starts, its size end - start + 1")
    score = f.opt_number(obj, "score")
    return Burst(
        start, end, f.number(obj, "fake_share"), f.date(obj, "created_from"),
        f.date(obj, "created_to"), score,
        f.text(obj, "kind", max_len=_SHORT), f.opt_number(obj, "fake_share_low"),
        f.opt_number(obj, "fake_share_high"),
    )  # fmt: skip


def _suspect(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a ``SuspiciousAccount``, read."""
    return {
        "position": f.count(obj, "position"),
        "platform": f.text(obj, "platform", max_len=_SHORT),
        "id": f.text(obj, "id", max_len=MAX_TEXT),
        "handle": f.opt_text(obj, "handle"),
        "fake_probability": f.number(obj, "fake_probability"),
        "reasons": f.texts(obj, "reasons", limit=_MAX_REASONS),
        "reason_codes": f.texts(obj, "reason_codes", limit=_MAX_REASONS, max_len=_SHORT),
    }


def _objects(obj: Mapping[str, Any], key: str, limit: int) -> list[dict[str, Any]]:
    items = f.rows(obj, key, limit=limit)
    if not all(isinstance(item, dict) for item in items):
        raise MessageError(f"{key!r} must be a list of objects")
    return items


@dataclass(frozen=True, slots=True)
class NamedSuspect(SuspiciousAccount):
    """A suspicious account kept for the "more" action, with its display name."""

    display_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**SuspiciousAccount.to_dict(self), "display_name": self.display_name}

    @classmethod
    def of(cls, s: SuspiciousAccount, display_name: str | None = None) -> NamedSuspect:
        kept = {k.name: getattr(s, k.name) for k in fields(SuspiciousAccount)}
        return cls(**kept, display_name=display_name)


@dataclass(frozen=True, slots=True)
class VerdictRow:
    """One sampled account's verdict, compact, for the CSV."""

    id: str
    platform: str
    handle: str | None
    p: float
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "platform": self.platform, "handle": self.handle, "p": self.p,
                "reasons": list(self.reasons)}  # fmt: skip

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> VerdictRow:
        return cls(
            f.text(obj, "id", max_len=MAX_TEXT), f.text(obj, "platform", max_len=_SHORT),
            f.opt_text(obj, "handle"), f.number(obj, "p"),
            f.texts(obj, "reasons", limit=_MAX_REASONS),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Actions:
    """What the worker adds for the actions under a chat report (``bot.audit.report``): up to 25
    varied suspicious accounts with their names, every verdict (up to 5,000) for the CSV,
    whether that is the whole sample, and the probability above which an account is flagged."""

    more: tuple[NamedSuspect, ...] = ()
    verdicts: tuple[VerdictRow, ...] | None = None
    complete: bool = True
    threshold: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        return {
            "suspicious_more": [s.to_dict() for s in self.more],
            "verdicts": None if self.verdicts is None else [v.to_dict() for v in self.verdicts],
            "verdicts_complete": self.complete,
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Actions:
        more = tuple(
            NamedSuspect(**_suspect(s), display_name=f.opt_text(s, "display_name"))
            for s in _objects(obj, "suspicious_more", MAX_MORE)
        )
        verdicts = None
        if obj.get("verdicts") is not None:
            verdicts = tuple(
                VerdictRow.from_dict(v) for v in _objects(obj, "verdicts", MAX_VERDICTS)
            )
        complete = obj.get("verdicts_complete", True)
        if not isinstance(complete, bool):
            raise MessageError("'verdicts_complete' must be true or false")
        threshold = f.number(obj, "threshold") if "threshold" in obj else 0.5
        return cls(more, verdicts, complete, threshold)


#: The keys of ``Actions.to_dict``: a report with any of them has actions.
_ACTION_KEYS: Final = ("suspicious_more", "verdicts", "verdicts_complete", "threshold")


@dataclass(frozen=True, slots=True)
class Subject:
    """The audited account: ``handle`` is the normalised handle."""

    platform: str
    handle: str
    id: str | None = None
    display_name: str | None = None
    followers_count: int | None = None
    following_count: int | None = None
    posts_count: int | None = None
    created_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "handle": self.handle,
            "id": self.id,
            "display_name": self.display_name,
            "followers_count": self.followers_count,
            "following_count": self.following_count,
            "posts_count": self.posts_count,
            "created_at": format_datetime(self.created_at),
        }

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Subject:
        return cls(
            f.text(obj, "platform", max_len=_SHORT, empty=True),
            f.text(obj, "handle", max_len=MAX_TEXT),
            f.opt_text(obj, "id"), f.opt_text(obj, "display_name"),
            f.opt_count(obj, "followers_count"), f.opt_count(obj, "following_count"),
            f.opt_count(obj, "posts_count"), f.date(obj, "created_at"),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Sample(SampleInfo):
    """Scoring's sample (``size``, ``total`` at least ``size``, ``order``) with the platform's
    own follower count (``of``) and the description the audit gave, shown as it was."""

    description: str = ""
    of: int | None = None

    def describe(self) -> str:
        return self.description

    def to_dict(self) -> dict[str, Any]:
        return {**SampleInfo.to_dict(self), "of": self.of}

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Sample:
        size, total = f.count(obj, "size"), f.opt_count(obj, "total")
        order = f.text(obj, "order", max_len=_SHORT)
        description = obj.get("description")
        if description is None:  # a report from before the description
            description = SampleInfo(size, total, order).describe()
        else:
            description = f.text(obj, "description", max_len=MAX_TEXT, empty=True)
        return cls(size, total, order, description, f.opt_count(obj, "of"))


#: The grade range of a report stored before ranges: shown as no grade, written as null.
NO_RANGE: Final = ("", "")


@dataclass(frozen=True, slots=True)
class Report:
    """One audit's report: scoring's (``audit``: the numbers, grade and verdict, samples and
    bursts; its ``subject`` the handle, its ``sample`` a ``Sample``), whose followers
    (``subject``), the fetch's counts and, from the worker, what the chats' actions need."""

    audit: AuditReport
    subject: Subject | None
    #: Platform requests the fetch made, and follower records it could not read.
    requests: int = 0
    skipped: int = 0
    actions: Actions | None = None
    version: int = field(default=VERSION, compare=False)

    @property
    def target(self) -> tuple[str, str | None, str | None]:
        """(platform, handle, display name) of the audited account, as far as the report says."""
        platform = self.audit.platform or ""
        if self.subject is None:
            return platform, None, None
        s = self.subject
        return s.platform or platform, s.handle, s.display_name or None

    @property
    def accounts(self) -> tuple[NamedSuspect, ...]:
        """Every suspicious account kept, most telling first (up to 25): those kept for the
        "more" action, else those the report shows (without display names)."""
        if self.actions is not None and self.actions.more:
            return self.actions.more[:MAX_MORE]
        return tuple(NamedSuspect.of(s) for s in self.audit.suspicious[:MAX_MORE])

    def reasons(self) -> list[tuple[str, int]]:
        """Every reason among the flagged accounts with its count, most frequent first."""
        return sorted(self.audit.reason_counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (``followaudit audit --json``, and with ``actions`` the worker's)."""
        data = self.audit.to_dict()
        if self.audit.grade_range == NO_RANGE:
            data["grade_range"] = None
        data["subject"] = None if self.subject is None else self.subject.to_dict()
        data["requests"] = self.requests
        data["skipped"] = self.skipped
        if self.actions is not None:
            data.update(self.actions.to_dict())
        return data

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any], *, version: int = VERSION) -> Report:
        """The report of a JSON object; ``MessageError`` when it is not one of ``version``."""
        if version != VERSION:
            raise MessageError(f"unsupported report version {version!r}")
        if not isinstance(obj, Mapping):
            raise MessageError("the report must be an object")
        sample = Sample.from_dict(f.block(obj, "sample"))
        if obj.get("sample_size", sample.size) != sample.size:
            raise MessageError("'sample_size' must be the sample's size")
        inactive = f.opt_block(obj, "inactive")
        platform = f.opt_text(obj, "platform", max_len=_SHORT)
        subject = _subject(obj.get("subject"), platform)
        audit = AuditReport(
            sample=sample,
            fake_share=_share(f.block(obj, "fake_share")),
            inactive=None if inactive is None else _inactive(inactive),
            grade=_grade(obj.get("grade"), "grade", optional=True),
            grade_range=_grade_range(obj.get("grade_range")),
            verdict=f.text(obj, "verdict", max_len=MAX_TEXT, empty=True),
            suspicious=tuple(
                SuspiciousAccount(**_suspect(s)) for s in _objects(obj, "suspicious", MAX_SAMPLES)
            ),
            flagged=f.count(obj, "flagged"),
            reason_counts=_counts(f.opt_block(obj, "reason_counts") or {}),
            bursts=tuple(_burst(b) for b in _objects(obj, "bursts", _MAX_BURSTS)),
            model_version=f.text(obj, "model_version", max_len=MAX_TEXT),
            subject=None if subject is None else subject.handle,
            platform=platform,
            observed_at=f.date(obj, "observed_at"),
        )
        return cls(
            audit, subject, requests=f.opt_count(obj, "requests") or 0,
            skipped=f.opt_count(obj, "skipped") or 0,
            actions=Actions.from_dict(obj) if any(k in obj for k in _ACTION_KEYS) else None,
            version=version,
        )  # fmt: skip


def _grade(value: object, key: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if isinstance(value, str) and value in GRADES:
        return value
    raise MessageError(f"{key!r} must be one of {', '.join(GRADES)}")


def _grade_range(value: object) -> tuple[str, str]:
    if value is None:
        return NO_RANGE
    if not isinstance(value, list) or len(value) != 2:
        raise MessageError("'grade_range' must be a list of two grades")
    best, worst = (_grade(v, "grade_range") for v in value)
    assert best is not None and worst is not None
    return best, worst


def _counts(obj: Mapping[str, Any]) -> dict[str, int]:
    if len(obj) > _MAX_COUNTS or not all(len(k) <= MAX_TEXT for k in obj):
        raise MessageError(f"'reason_counts' must hold at most {_MAX_COUNTS} short reasons")
    return {k: f.count(obj, k) for k in obj}


def _subject(value: object, platform: str | None) -> Subject | None:
    """The subject block; a plain handle (a report stored before the block) or none is read."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise MessageError("'subject' is too long")
        return Subject(platform or "", value)
    if not isinstance(value, dict):
        raise MessageError("'subject' must be an object")
    return Subject.from_dict(value)
