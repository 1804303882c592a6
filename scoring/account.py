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
    "parse_count",
    "parse_datetime",
    "to_utc",
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
    if isinstance(value, str):
        try:
            dt = _fromisoformat(value)
        except ValueError:
            raise AccountError(f"{name}: not an ISO 8601 date: {value[:40]!r}") from None
    elif isinstance(value, datetime):
        dt = value
    else:
        raise AccountError(f"{name}: expected a date string, got {type(value).__name__}")
    tz = dt.tzinfo
    if tz is UTC:  # the common case: "...Z" or "+00:00"
        return dt
    if tz is None:
        return dt.replace(tzinfo=UTC)
    return to_utc(dt, name)


def to_utc(dt: datetime, name: str = "date") -> datetime:
    """``dt`` in UTC; a time that UTC cannot hold (year 9999 at -14:00) is an AccountError."""
    try:
        return dt.astimezone(UTC)
    except OverflowError:
        raise AccountError(f"{name}: date out of range: {str(dt)[:40]!r}") from None


_fromisoformat = datetime.fromisoformat


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


def parse_count(value: object, name: str) -> int | None:
    """A count: a non-negative int or whole float, or None; anything else is an AccountError."""
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
        """Build an account from the neutral JSON shape, checking every field's type.

        This is the hot path of scoring a large file, so well-formed values are checked inline
        and only unusual ones go through the general readers; the result is the same.
        """
        if type(data) is not dict and not isinstance(data, Mapping):
            raise AccountError(f"expected a JSON object, got {type(data).__name__}")
        get = data.get
        platform = get("platform")
        ident = get("id")
        if (type(platform) is not str and not isinstance(platform, str)) or not platform:
            raise AccountError("platform: required text is missing")
        if type(ident) is not str:
            if isinstance(ident, int) and not isinstance(ident, bool):
                ident = str(ident)
            if not isinstance(ident, str):
                raise AccountError("id: required text is missing")
        if not ident:
            raise AccountError("id: required text is missing")
        label = get("label")
        if label is not None and (label not in (0, 1) or isinstance(label, bool)):
            raise AccountError(f"label: expected 0, 1 or null, got {label!r}")
        handle = get("handle")
        if handle is not None and (
            type(handle) is not str or not handle or len(handle) > MAX_TEXT or "\x00" in handle
        ):
            handle = _text(handle, "handle")
        display_name = get("display_name")
        if display_name is not None and (
            type(display_name) is not str
            or not display_name
            or len(display_name) > MAX_TEXT
            or "\x00" in display_name
        ):
            display_name = _text(display_name, "display_name")
        bio = get("bio")
        if bio is not None and (
            type(bio) is not str or not bio or len(bio) > MAX_TEXT or "\x00" in bio
        ):
            bio = _text(bio, "bio")
        url = get("url")
        if url is not None and (
            type(url) is not str or not url or len(url) > MAX_TEXT or "\x00" in url
        ):
            url = _text(url, "url")
        location = get("location")
        if location is not None and (
            type(location) is not str
            or not location
            or len(location) > MAX_TEXT
            or "\x00" in location
        ):
            location = _text(location, "location")
        created_at = get("created_at")
        if created_at is not None:
            created_at = parse_datetime(created_at, "created_at")
        observed_at = get("observed_at")
        if observed_at is not None:
            observed_at = parse_datetime(observed_at, "observed_at")
        last_post_at = get("last_post_at")
        if last_post_at is not None:
            last_post_at = parse_datetime(last_post_at, "last_post_at")
        followers_count = get("followers_count")
        if followers_count is not None and (
            type(followers_count) is not int or followers_count < 0
        ):
            followers_count = parse_count(followers_count, "followers_count")
        following_count = get("following_count")
        if following_count is not None and (
            type(following_count) is not int or following_count < 0
        ):
            following_count = parse_count(following_count, "following_count")
        posts_count = get("posts_count")
        if posts_count is not None and (type(posts_count) is not int or posts_count < 0):
            posts_count = parse_count(posts_count, "posts_count")
        likes_count = get("likes_count")
        if likes_count is not None and (type(likes_count) is not int or likes_count < 0):
            likes_count = parse_count(likes_count, "likes_count")
        listed_count = get("listed_count")
        if listed_count is not None and (type(listed_count) is not int or listed_count < 0):
            listed_count = parse_count(listed_count, "listed_count")
        has_default_avatar = get("has_default_avatar")
        if has_default_avatar is not None and type(has_default_avatar) is not bool:
            has_default_avatar = _flag(has_default_avatar, "has_default_avatar")
        has_banner = get("has_banner")
        if has_banner is not None and type(has_banner) is not bool:
            has_banner = _flag(has_banner, "has_banner")
        verified = get("verified")
        if verified is not None and type(verified) is not bool:
            verified = _flag(verified, "verified")
        protected = get("protected")
        if protected is not None and type(protected) is not bool:
            protected = _flag(protected, "protected")
        declared_bot = get("declared_bot")
        if declared_bot is not None and type(declared_bot) is not bool:
            declared_bot = _flag(declared_bot, "declared_bot")
        source = get("source")
        if source is not None:
            source = _text(source, "source")
        extra = (
            {} if _KNOWN.issuperset(data) else {k: v for k, v in data.items() if k not in _KNOWN}
        )
        account = _new(cls)
        _set_platform(account, platform.lower()[:64])
        _set_id(account, ident[:256])
        _set_handle(account, handle[1:] if handle and handle.startswith("@") else handle)
        _set_display_name(account, display_name)
        _set_bio(account, bio)
        _set_url(account, url)
        _set_location(account, location)
        _set_created_at(account, created_at)
        _set_observed_at(account, observed_at)
        _set_last_post_at(account, last_post_at)
        _set_followers_count(account, followers_count)
        _set_following_count(account, following_count)
        _set_posts_count(account, posts_count)
        _set_likes_count(account, likes_count)
        _set_listed_count(account, listed_count)
        _set_has_default_avatar(account, has_default_avatar)
        _set_has_banner(account, has_banner)
        _set_verified(account, verified)
        _set_protected(account, protected)
        _set_declared_bot(account, declared_bot)
        _set_label(account, label)
        _set_source(account, source)
        _set_extra(account, extra)
        return account

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


# Fast construction for from_dict: a frozen dataclass's __init__ assigns through
# object.__setattr__ one field at a time; the slot descriptors do the same work directly.
_new = object.__new__
(
    _set_platform,
    _set_id,
    _set_handle,
    _set_display_name,
    _set_bio,
    _set_url,
    _set_location,
    _set_created_at,
    _set_observed_at,
    _set_last_post_at,
    _set_followers_count,
    _set_following_count,
    _set_posts_count,
    _set_likes_count,
    _set_listed_count,
    _set_has_default_avatar,
    _set_has_banner,
    _set_verified,
    _set_protected,
    _set_declared_bot,
    _set_label,
    _set_source,
    _set_extra,
) = (getattr(Account, name).__set__ for name in Account.__dataclass_fields__)
