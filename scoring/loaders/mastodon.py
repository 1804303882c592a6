"""Mastodon REST ``Account`` entities (``/api/v1/accounts/:id``, ``.../followers``, search).

``acct`` is ``user`` for an account local to the instance that answered and ``user@domain``
otherwise; the handle is always ``user@domain``. ``note`` is HTML and becomes plain text. The
entity's ``url`` is the profile page, not a link the person chose: the profile link is the
first link in the ``fields`` (name/value pairs). A ``missing.png`` avatar or header is the
instance's default image. ``last_status_at`` is a date (``2019-11-24``) or null.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from scoring.account import Account, AccountError
from scoring.loaders._coerce import count, entity_id, flag, iso_date, require_object, text
from scoring.loaders._html import html_links, html_to_text

__all__ = ["account_from_mastodon", "is_mastodon"]

_MISSING: Final = "/missing.png"


def is_mastodon(obj: Mapping[str, Any]) -> bool:
    """A Mastodon account has ``acct`` beside ``username``."""
    return "acct" in obj and "username" in obj


def _instance_of(obj: Mapping[str, Any], instance: str | None) -> str | None:
    """The server's domain: as given (a bare domain or a URL), else the profile URL's host."""
    given = instance.strip() if instance else ""
    if "://" in given:
        given = urlsplit(given[:2048]).hostname or ""
    if given:
        return given.lower().removeprefix("@").rstrip("/")[:253] or None
    url = obj.get("url")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        host = urlsplit(url[:2048]).hostname
        return host[:253] if host else None
    return None


def _handle(obj: Mapping[str, Any], instance: str | None) -> str | None:
    acct = text(obj.get("acct"), "acct") or text(obj.get("username"), "username")
    if acct is None:
        return None
    acct = acct.removeprefix("@")
    if "@" in acct or instance is None:
        return acct
    return f"{acct}@{instance}"


def _is_default(value: Any, name: str) -> bool | None:
    image = text(value, name)
    if image is None:
        return None
    return image.split("?", 1)[0].endswith(_MISSING)


def _profile_link(fields: Any) -> str | None:
    if fields is None:
        return None
    if not isinstance(fields, list):
        raise AccountError(f"fields: expected a list, got {type(fields).__name__}")
    for item in fields[:64]:
        if not isinstance(item, Mapping):
            raise AccountError("fields: expected name/value objects")
        value = item.get("value")
        if isinstance(value, str):
            for link in html_links(value):
                if link.startswith(("https://", "http://")):
                    return text(link, "fields.value")
    return None


def account_from_mastodon(
    obj: Mapping[str, Any], *, observed_at: datetime | None, instance: str | None = None
) -> Account:
    """Map one Mastodon Account entity; ``instance`` is the server that returned it."""
    obj = require_object(obj)
    ident = entity_id(obj.get("id"), "id: required account id is missing")
    note = obj.get("note")
    if note is not None and not isinstance(note, str):
        raise AccountError(f"note: expected HTML text, got {type(note).__name__}")
    header = _is_default(obj.get("header"), "header")
    return Account(
        platform="mastodon",
        id=ident.strip()[:256],
        handle=_handle(obj, _instance_of(obj, instance)),
        display_name=text(obj.get("display_name"), "display_name"),
        bio=text(html_to_text(note), "note") if note else None,
        url=_profile_link(obj.get("fields")),
        created_at=iso_date(obj.get("created_at"), "created_at"),
        observed_at=observed_at,
        last_post_at=iso_date(obj.get("last_status_at"), "last_status_at"),
        followers_count=count(obj.get("followers_count"), "followers_count"),
        following_count=count(obj.get("following_count"), "following_count"),
        posts_count=count(obj.get("statuses_count"), "statuses_count"),
        has_default_avatar=_is_default(obj.get("avatar_static") or obj.get("avatar"), "avatar"),
        has_banner=None if header is None else not header,
        protected=flag(obj.get("locked"), "locked"),
        declared_bot=flag(obj.get("bot"), "bot"),
    )
