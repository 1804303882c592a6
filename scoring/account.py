"""The platform-neutral account: one profile at one moment (shared/account.schema.json)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

__all__ = [
    "BOOL_FIELDS",
    "COUNT_FIELDS",
    "DATE_FIELDS",
    "MAX_TEXT",
    "TEXT_FIELDS",
    "Account",
    "AccountError",
    "format_datetime",
    "parse_datetime",
]

#: Longest text kept from any platform-controlled string; longer text is cut, never trusted whole.
MAX_TEXT: Final = 4096

TEXT_FIELDS: Final = ("handle", "display_name", "bio", "url", "location")
DATE_FIELDS: Final = ("created_at", "observed_at", "last_post_at")
COUNT_FIELDS: Final = (
    "followers_count",
    "following_count",
    "posts_count",
    "likes_count",
    "listed_count",
)
BOOL_FIELDS: Final = (
    "has_default_avatar",
    "has_banner",
    "verified",
    "protected",
    "declared_bot",
)
_KNOWN: Final = frozenset(
    ("platform", "id", "label", "source", *TEXT_FIELDS, *DATE_FIELDS, *COUNT_FIELDS, *BOOL_FIELDS)
)


class AccountError(ValueError):
    """A record that cannot be read as an account; the message says which field and why."""


def parse_datetime(value: object, name: str = "date") -> datetime | None:
    """Parse an ISO 8601 string (``Z`` or offset; naive means UTC) into an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            raise AccountError(f"{name}: not an ISO 8601 date: {value[:40]!r}") from None
    else:
        raise AccountError(f"{name}: expected a date string, got {type(value).__name__}")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def format_datetime(value: datetime | None) -> str | None:
    """Write a datetime as ISO 8601 UTC with a ``Z`` suffix, the way the data sets do."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise AccountError(f"{name}: expected text, got {type(value).__name__}")
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value[:MAX_TEXT] if value else None


def _count(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise AccountError(f"{name}: expected a count, got a boolean")
    if isinstance(value, int):
        n = value
    elif isinstance(value, float) and value.is_integer():
        n = int(value)
    else:
        raise AccountError(f"{name}: expected a whole number, got {str(value)[:40]!r}")
    if n < 0:
        raise AccountError(f"{name}: negative count {n}")
    return n


def _flag(value: object, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise AccountError(f"{name}: expected true, false or null, got {str(value)[:40]!r}")


@dataclass(frozen=True, slots=True)
class Account:
    """One account; every count, flag and text may be ``None`` when the source does not say."""

    platform: str
    id: str
    handle: str | None = None
    display_name: str | None = None
    bio: str | None = None
    url: str | None = None
    location: str | None = None
    created_at: datetime | None = None
    observed_at: datetime | None = None
    last_post_at: datetime | None = None
    followers_count: int | None = None
    following_count: int | None = None
    posts_count: int | None = None
    likes_count: int | None = None
    listed_count: int | None = None
    has_default_avatar: bool | None = None
    has_banner: bool | None = None
    verified: bool | None = None
    protected: bool | None = None
    declared_bot: bool | None = None
    label: int | None = None
    source: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Account:
        """Build an account from the neutral JSON shape, checking every field's type."""
        if not isinstance(data, Mapping):
            raise AccountError(f"expected a JSON object, got {type(data).__name__}")
        platform = data.get("platform")
        ident = data.get("id")
        if not isinstance(platform, str) or not platform:
            raise AccountError("platform: required text is missing")
        if isinstance(ident, int) and not isinstance(ident, bool):
            ident = str(ident)
        if not isinstance(ident, str) or not ident:
            raise AccountError("id: required text is missing")
        label = data.get("label")
        if label not in (None, 0, 1) or isinstance(label, bool):
            raise AccountError(f"label: expected 0, 1 or null, got {label!r}")
        source = data.get("source")
        extra = {k: v for k, v in data.items() if k not in _KNOWN}
        handle = _text(data.get("handle"), "handle")
        return cls(
            platform=platform.lower()[:64],
            id=ident[:256],
            handle=handle[1:] if handle and handle.startswith("@") else handle,
            display_name=_text(data.get("display_name"), "display_name"),
            bio=_text(data.get("bio"), "bio"),
            url=_text(data.get("url"), "url"),
            location=_text(data.get("location"), "location"),
            created_at=parse_datetime(data.get("created_at"), "created_at"),
            observed_at=parse_datetime(data.get("observed_at"), "observed_at"),
            last_post_at=parse_datetime(data.get("last_post_at"), "last_post_at"),
            followers_count=_count(data.get("followers_count"), "followers_count"),
            following_count=_count(data.get("following_count"), "following_count"),
            posts_count=_count(data.get("posts_count"), "posts_count"),
            likes_count=_count(data.get("likes_count"), "likes_count"),
            listed_count=_count(data.get("listed_count"), "listed_count"),
            has_default_avatar=_flag(data.get("has_default_avatar"), "has_default_avatar"),
            has_banner=_flag(data.get("has_banner"), "has_banner"),
            verified=_flag(data.get("verified"), "verified"),
            protected=_flag(data.get("protected"), "protected"),
            declared_bot=_flag(data.get("declared_bot"), "declared_bot"),
            label=label,
            source=_text(source, "source"),
            extra=extra,
        )

    def to_dict(self) -> dict[str, Any]:
        """The neutral JSON shape: every schema field, dates as ISO 8601 UTC, extras kept."""
        out: dict[str, Any] = {
            "platform": self.platform,
            "id": self.id,
            "handle": self.handle,
            "display_name": self.display_name,
            "bio": self.bio,
            "url": self.url,
            "location": self.location,
            "created_at": format_datetime(self.created_at),
            "observed_at": format_datetime(self.observed_at),
            "last_post_at": format_datetime(self.last_post_at),
        }
        for name in COUNT_FIELDS + BOOL_FIELDS:
            out[name] = getattr(self, name)
        if self.label is not None:
            out["label"] = self.label
        if self.source is not None:
            out["source"] = self.source
        out.update(self.extra)
        return out
