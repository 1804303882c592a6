"""What a review keeps in Redis, as versioned JSON (never pickle): the review session with the
accounts drawn as they were seen, and each reviewer's label of each account.

Every reader validates the version, the shape and every size; a record that fails is a
``StoredError`` (the store skips it rather than trusting it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from bot.pipeline.records import load_record
from scoring.account import Account, AccountError
from scoring.review import LABELS, MAX_DRAW, LabelValue

__all__ = [
    "MAX_SESSION_BYTES",
    "VERSION",
    "DrawnAccount",
    "LabelRecord",
    "ReviewSession",
    "Reviewer",
    "StoredError",
    "drawn",
    "neutral",
]

VERSION: Final = 1
#: A session holds at most MAX_DRAW accounts of bounded text (scoring.account.MAX_TEXT).
MAX_SESSION_BYTES: Final = 8 * 1024 * 1024
MAX_LABEL_BYTES: Final = 4096


class StoredError(ValueError):
    """A stored record that is not valid JSON of a version we write."""


def _load(raw: str | bytes, max_bytes: int) -> dict[str, Any]:
    return load_record(raw, max_bytes=max_bytes, version=VERSION, error=StoredError)


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps({"v": VERSION, **obj}, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)  # fmt: skip


def _text(obj: dict[str, Any], key: str, max_len: int = 200) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise StoredError(f"{key!r} must be a non-empty string of at most {max_len} characters")
    return value


def _num(obj: dict[str, Any], key: str, low: float = -math.inf, high: float = math.inf) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StoredError(f"{key!r} must be a number")
    if not low <= value <= high:
        raise StoredError(f"{key!r} out of range")
    return float(value)


def _index(obj: dict[str, Any], key: str, high: int) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise StoredError(f"{key!r} must be an integer in 0..{high}")
    return value


@dataclass(frozen=True, slots=True)
class Reviewer:
    """Who labels: the chat platform (``telegram``, ``discord``, ``console``) and its user id."""

    platform: str
    user_id: str

    def __post_init__(self) -> None:
        if not self.platform or len(self.platform) > 32 or not self.user_id:
            raise ValueError("a reviewer needs a platform and a user id")
        if len(self.user_id) > 64:
            raise ValueError("a reviewer's user id is at most 64 characters")

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"

    def to_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "user_id": self.user_id}

    @classmethod
    def from_dict(cls, obj: object) -> Reviewer:
        if not isinstance(obj, dict):
            raise StoredError("'reviewer' must be an object")
        return cls(_text(obj, "platform", 32), _text(obj, "user_id", 64))


@dataclass(frozen=True, slots=True)
class DrawnAccount:
    """One drawn follower as it was seen, with the model's probability (hidden from reviewers
    until they answer)."""

    account: Account
    probability: float

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.account.to_dict().items() if v is not None}
        return {"account": data, "probability": round(self.probability, 6)}

    @classmethod
    def from_dict(cls, obj: object) -> DrawnAccount:
        if not isinstance(obj, dict) or not isinstance(obj.get("account"), dict):
            raise StoredError("a drawn account must be an object with 'account'")
        try:
            account = Account.from_dict(obj["account"])
        except AccountError as exc:
            raise StoredError(f"drawn account: {exc}") from None
        return cls(account, _num(obj, "probability", 0.0, 1.0))

    @property
    def key(self) -> str:
        """The account across reviews: its platform and stable id."""
        return f"{self.account.platform}:{self.account.id}"


def neutral(account: Account) -> Account:
    """The account as a review keeps it: the neutral fields only (no extras, label, source)."""
    return replace(account, label=None, source=None, extra={})


@dataclass(frozen=True, slots=True)
class ReviewSession:
    """One review of one audit's followers: the draw (fixed at creation, so every reviewer and
    every resume sees the same accounts in the same order) and the audit it came from."""

    review_id: str
    platform: str
    handle: str
    audit_id: str
    model_version: str
    created_at: float
    #: How many followers the audit scored; the draw is from all of them.
    sample_size: int
    seed: int
    accounts: tuple[DrawnAccount, ...]
    #: The audit's fake-share estimate and 95% interval, when it had one.
    audit_share: tuple[float, float, float] | None = None

    def to_json(self) -> str:
        share = self.audit_share
        return _dump(
            {
                "review_id": self.review_id,
                "platform": self.platform,
                "handle": self.handle,
                "audit_id": self.audit_id,
                "model_version": self.model_version,
                "created_at": self.created_at,
                "sample_size": self.sample_size,
                "seed": str(self.seed),
                "accounts": [a.to_dict() for a in self.accounts],
                "audit_share": None
                if share is None
                else {"estimate": share[0], "low": share[1], "high": share[2]},
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> ReviewSession:
        obj = _load(raw, MAX_SESSION_BYTES)
        accounts = obj.get("accounts")
        if not isinstance(accounts, list) or not 1 <= len(accounts) <= MAX_DRAW:
            raise StoredError(f"'accounts' must hold 1 to {MAX_DRAW} accounts")
        seed = _text(obj, "seed", 40)
        if not seed.isdigit():
            raise StoredError("'seed' must be a decimal integer")
        share = obj.get("audit_share")
        audit_share = None
        if share is not None:
            if not isinstance(share, dict):
                raise StoredError("'audit_share' must be an object or null")
            audit_share = tuple(_num(share, k, 0.0, 1.0) for k in ("estimate", "low", "high"))
        return cls(
            review_id=_text(obj, "review_id", 64),
            platform=_text(obj, "platform", 32),
            handle=_text(obj, "handle", 512),
            audit_id=_text(obj, "audit_id", 128),
            model_version=_text(obj, "model_version", 64),
            created_at=_num(obj, "created_at", 0.0),
            sample_size=_index(obj, "sample_size", 10_000_000),
            seed=int(seed),
            accounts=tuple(DrawnAccount.from_dict(a) for a in accounts),
            audit_share=audit_share,  # type: ignore[arg-type]
        )


@dataclass(frozen=True, slots=True)
class LabelRecord:
    """One reviewer's label of one drawn account, with where it came from."""

    review_id: str
    index: int
    account_key: str
    label: LabelValue
    reviewer: Reviewer
    at: float
    audit_id: str
    model_version: str
    score: float

    @property
    def field(self) -> str:
        """Its field in the review's label hash: one label per reviewer per account."""
        return f"{self.index}|{self.reviewer.key}"

    def to_json(self) -> str:
        return _dump(
            {
                "review_id": self.review_id,
                "index": self.index,
                "account": self.account_key,
                "label": self.label,
                "reviewer": self.reviewer.to_dict(),
                "at": self.at,
                "audit_id": self.audit_id,
                "model_version": self.model_version,
                "score": round(self.score, 6),
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> LabelRecord:
        obj = _load(raw, MAX_LABEL_BYTES)
        label = obj.get("label")
        if label not in LABELS:
            raise StoredError(f"'label' must be one of {', '.join(LABELS)}")
        try:
            reviewer = Reviewer.from_dict(obj.get("reviewer"))
        except ValueError as exc:
            raise StoredError(str(exc)) from None
        return cls(
            review_id=_text(obj, "review_id", 64),
            index=_index(obj, "index", MAX_DRAW - 1),
            account_key=_text(obj, "account", 600),
            label=label,
            reviewer=reviewer,
            at=_num(obj, "at", 0.0),
            audit_id=_text(obj, "audit_id", 128),
            model_version=_text(obj, "model_version", 64),
            score=_num(obj, "score", 0.0, 1.0),
        )


def drawn(
    accounts: Sequence[Account], probabilities: Sequence[float], picked: Sequence[int]
) -> tuple[DrawnAccount, ...]:
    """The drawn accounts, neutral, in the order drawn (probabilities as they are stored)."""
    return tuple(
        DrawnAccount(neutral(accounts[i]), round(float(probabilities[i]), 6)) for i in picked
    )
