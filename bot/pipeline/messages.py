"""Versioned JSON messages that cross Redis: requests, queued jobs, outcomes and deliveries.

Every message carries ``"v": VERSION``; a reader rejects other versions and malformed shapes with
``MessageError`` (the worker dead-letters such queue entries). Never pickle.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import KW_ONLY, dataclass, field, fields
from typing import Any, Final

from bot.pipeline import fields as f
from bot.pipeline.fields import MessageError
from bot.pipeline.report import VERSION as REPORT_VERSION
from bot.pipeline.report import Report
from bot.pipeline.samples import ScoredSample

__all__ = [
    "AUDITED",
    "CHART_NAME",
    "MAX_CHART_BYTES",
    "MAX_MESSAGE_BYTES",
    "VERSION",
    "AuditJob",
    "AuditOutcome",
    "AuditRequest",
    "Audited",
    "Delivery",
    "MessageError",
    "Progress",
    "ReplyTo",
    "UserError",
    "audited",
    "dumps",
    "new_id",
]

VERSION = 1
#: A queue or delivery message larger than this is malformed (reports are far smaller).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
#: The largest chart an outcome carries (Telegram takes photos up to 10 MB), and its name.
MAX_CHART_BYTES = 5_000_000
CHART_NAME = "chart.png"
PNG_MAGIC = b"\x89PNG"


def new_id() -> str:
    return uuid.uuid4().hex


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def loads(raw: str | bytes) -> dict[str, Any]:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageError(f"message of {len(raw)} bytes is too large")
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MessageError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MessageError("not a JSON object")
    if obj.get("v") != VERSION:
        raise MessageError(f"unsupported message version {obj.get('v')!r}")
    return obj


def _dict(obj: dict[str, Any], key: str) -> dict[str, Any]:
    return f.opt_block(obj, key) or {}


def _png(data: str | None) -> bytes | None:
    """The chart's bytes from base64, when they are a PNG of at most ``MAX_CHART_BYTES``."""
    if not data or len(data) > MAX_CHART_BYTES * 4 // 3 + 4:
        return None
    try:
        png = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    return png if png.startswith(PNG_MAGIC) and len(png) <= MAX_CHART_BYTES else None


@dataclass(frozen=True, slots=True)
class Audited:
    """What is audited, and how: the account (``handle`` already normalised), the sample, fresh
    or cached, and the runner's options. A request and its queued job both carry it."""

    platform: str
    handle: str
    sample: int
    fresh: bool = False
    #: Opaque to the pipeline, handed to the runner (e.g. a reference to an uploaded export).
    options: dict[str, Any] = field(default_factory=dict)


#: The ``Audited`` fields, in message order.
AUDITED: Final = tuple(item.name for item in fields(Audited))


def audited(item: Audited) -> dict[str, Any]:
    """The ``AUDITED`` fields of a request or job, by name (as its message holds them)."""
    return {name: getattr(item, name) for name in AUDITED}


def _read_audited(obj: dict[str, Any]) -> dict[str, Any]:
    """The ``AUDITED`` fields of a request's or job's message, validated."""
    return {
        "platform": f.text(obj, "platform", max_len=32),
        "handle": f.text(obj, "handle", max_len=512),
        "sample": f.count(obj, "sample"),
        "fresh": bool(obj.get("fresh", False)),
        "options": _dict(obj, "options"),
    }


@dataclass(frozen=True, slots=True)
class ReplyTo:
    """Where answers go: the adapter's delivery stream and its opaque conversation reference
    (chat id, message to edit, interaction token...)."""

    adapter: str
    conversation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"adapter": self.adapter, "conversation": self.conversation}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> ReplyTo:
        return cls(
            adapter=f.text(obj, "adapter", max_len=200), conversation=_dict(obj, "conversation")
        )


@dataclass(frozen=True, slots=True)
class AuditRequest(Audited):
    """One user's request, as an adapter submits it: what to audit, who asks, where to answer."""

    _: KW_ONLY
    user: str
    chat: str
    reply: ReplyTo
    request_id: str = field(default_factory=new_id)
    submitted_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "request_id": self.request_id,
            "user": self.user,
            "chat": self.chat,
            "reply": self.reply.to_dict(),
            **audited(self),
            "submitted_at": self.submitted_at,
        }

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> AuditRequest:
        if obj.get("v") != VERSION:
            raise MessageError(f"unsupported request version {obj.get('v')!r}")
        return cls(
            request_id=f.text(obj, "request_id", max_len=64),
            user=f.text(obj, "user", max_len=200),
            chat=f.text(obj, "chat", max_len=200),
            reply=ReplyTo.from_dict(_dict(obj, "reply")),
            **_read_audited(obj),
            submitted_at=f.number(obj, "submitted_at"),
        )

    @property
    def coalesce_key(self) -> str:
        """Requests with the same key share one cached result (same handle and sample)."""
        return f"{self.platform}:{self.handle}:{self.sample}"

    @property
    def handle_key(self) -> str:
        """A request joins a running audit of the same handle that reads at least its sample."""
        return f"{self.platform}:{self.handle}"

    @property
    def coalescable(self) -> bool:
        """Uploaded exports and other runner options are private to one request."""
        return not self.options


@dataclass(frozen=True, slots=True)
class AuditJob(Audited):
    """One audit in the queue; any number of requests may wait on it."""

    _: KW_ONLY
    job_id: str
    created_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": VERSION,
            "job_id": self.job_id,
            **audited(self),
            "created_at": self.created_at,
        }

    def to_json(self) -> str:
        return dumps(self.to_dict())

    @classmethod
    def from_json(cls, raw: str | bytes) -> AuditJob:
        obj = loads(raw)
        return cls(
            job_id=f.text(obj, "job_id", max_len=64),
            **_read_audited(obj),
            created_at=f.number(obj, "created_at"),
        )

    @property
    def label(self) -> str:
        return f"{self.platform}:{self.handle}"


@dataclass(frozen=True, slots=True)
class UserError:
    """A failure told to the user in one line; ``retry_after`` in seconds when a retry can help."""

    code: str
    message: str
    retry_after: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "retry_after": self.retry_after}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> UserError:
        retry = obj.get("retry_after")
        return cls(
            code=f.text(obj, "code", max_len=64),
            message=f.text(obj, "message", max_len=2000),
            retry_after=float(retry) if isinstance(retry, int | float) else None,
        )


@dataclass(frozen=True, slots=True)
class AuditOutcome:
    """What an audit ends with: its typed report (``bot.pipeline.report``) and the chart's PNG
    bytes, or a user error. Each chat renders the report at its edge.

    In JSON the chart travels as base64 under ``attachments`` (``chart.png``); a chart that is
    not base64 of a PNG of at most ``MAX_CHART_BYTES`` is dropped (the report still shows). The
    report's own format version travels beside it as ``report_v`` (1 when missing: outcomes
    stored before it was written, whose ``texts``, the renderings the worker made then, are
    ignored).
    """

    report: Report | None = None
    chart: bytes | None = field(default=None, repr=False)
    error: UserError | None = None
    finished_at: float = 0.0
    #: The scored sample, for the worker to keep for reviews (never part of the message).
    sample: ScoredSample | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        chart = {} if self.chart is None else {CHART_NAME: base64.b64encode(self.chart).decode()}
        return {
            "v": VERSION,
            "ok": self.ok,
            "report": None if self.report is None else self.report.to_dict(),
            "report_v": REPORT_VERSION if self.report is None else self.report.version,
            "attachments": chart,
            "error": self.error.to_dict() if self.error else None,
            "finished_at": self.finished_at,
        }

    def to_json(self) -> str:
        return dumps(self.to_dict())

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> AuditOutcome:
        if obj.get("v") != VERSION:
            raise MessageError(f"unsupported outcome version {obj.get('v')!r}")
        report = f.opt_block(obj, "report")
        error = obj.get("error")
        attachments = _dict(obj, "attachments")
        if not all(isinstance(v, str) for v in attachments.values()):
            raise MessageError("attachments must be strings")
        version = obj.get("report_v", 1)
        return cls(
            report=None if report is None else Report.from_dict(report, version=version),
            chart=_png(attachments.get(CHART_NAME)),
            error=UserError.from_dict(error) if isinstance(error, dict) else None,
            finished_at=float(obj.get("finished_at") or 0.0),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> AuditOutcome:
        return cls.from_dict(loads(raw))

    @classmethod
    def failure(cls, code: str, message: str, retry_after: float | None = None) -> AuditOutcome:
        return cls(error=UserError(code, message, retry_after))


@dataclass(frozen=True, slots=True)
class Progress:
    """Where an audit is: ``queued``, ``fetching`` (``done`` of ``total``), ``scoring``."""

    stage: str
    done: int | None = None
    total: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "done": self.done, "total": self.total}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Progress:
        done, total = obj.get("done"), obj.get("total")
        return cls(
            stage=f.text(obj, "stage", max_len=32),
            done=done if isinstance(done, int) else None,
            total=total if isinstance(total, int) else None,
        )

    def describe(self) -> str:
        """Plain words for a progress line (never a grade)."""
        if self.stage == "fetching" and self.total:
            return f"fetching {self.done or 0:,} of {self.total:,} followers"
        if self.stage == "fetching":
            return "fetching followers"
        return self.stage


@dataclass(frozen=True, slots=True)
class Delivery:
    """An entry of an adapter's delivery stream: progress of, or the outcome for, one request."""

    kind: str  # "progress" | "result"
    delivery_id: str
    job_id: str
    request: AuditRequest
    progress: Progress | None = None
    outcome: AuditOutcome | None = None

    @classmethod
    def from_json(cls, raw: str | bytes) -> Delivery:
        obj = loads(raw)
        kind = f.text(obj, "kind", max_len=16)
        request = AuditRequest.from_dict(_dict(obj, "request"))
        payload = _dict(obj, "payload")
        if kind == "progress":
            return cls(kind, f.text(obj, "delivery_id"), f.text(obj, "job_id"), request,
                       progress=Progress.from_dict(payload))  # fmt: skip
        if kind == "result":
            return cls(kind, f.text(obj, "delivery_id"), f.text(obj, "job_id"), request,
                       outcome=AuditOutcome.from_dict(payload))  # fmt: skip
        raise MessageError(f"unknown delivery kind {kind!r}")
