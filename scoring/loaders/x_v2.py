"""X (Twitter) API v2 user objects: ``GET /2/users``, ``/2/users/:id/followers`` and the like.

Fields (user.fields): id, username, name, description, location, url, created_at, protected,
verified, profile_image_url, public_metrics{followers_count, following_count, tweet_count,
listed_count, like_count}. Only ``id``, ``name`` and ``username`` come by default, so every
other field stays unknown when absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from scoring.account import Account, AccountError
from scoring.loaders._coerce import count, entity_id, flag, iso_date, require_object, text

__all__ = ["account_from_x", "is_x_v2"]

#: X serves every account without a picture from this path.
DEFAULT_IMAGE_MARK: Final = "/default_profile_images/"


def is_x_v2(obj: Mapping[str, Any]) -> bool:
    """A v2 user has ``username`` and ``id`` but no Mastodon ``acct``."""
    return "username" in obj and "id" in obj and "acct" not in obj


def _default_avatar(obj: Mapping[str, Any]) -> bool | None:
    if "profile_image_url" not in obj:
        return None
    image = text(obj["profile_image_url"], "profile_image_url")
    return image is None or DEFAULT_IMAGE_MARK in image


def _metric(metrics: Mapping[str, Any], key: str) -> int | None:
    """One of the ``public_metrics`` counts, named by its path in an error."""
    return count(metrics.get(key), f"public_metrics.{key}")


def account_from_x(obj: Mapping[str, Any], *, observed_at: datetime | None) -> Account:
    """Map one X API v2 user object to an Account."""
    obj = require_object(obj)
    ident = entity_id(obj.get("id"), "id: required user id (a string in API v2) is missing")
    metrics = obj.get("public_metrics")
    if metrics is None:
        metrics = {}
    elif not isinstance(metrics, Mapping):
        raise AccountError(f"public_metrics: expected an object, got {type(metrics).__name__}")
    has_banner = None
    if "profile_banner_url" in obj:
        has_banner = text(obj["profile_banner_url"], "profile_banner_url") is not None
    handle = text(obj.get("username"), "username")
    return Account(
        platform="twitter",
        id=ident.strip()[:256],
        handle=handle[1:] if handle and handle.startswith("@") else handle,
        display_name=text(obj.get("name"), "name"),
        bio=text(obj.get("description"), "description"),
        url=text(obj.get("url"), "url"),
        location=text(obj.get("location"), "location"),
        created_at=iso_date(obj.get("created_at"), "created_at"),
        observed_at=observed_at,
        followers_count=_metric(metrics, "followers_count"),
        following_count=_metric(metrics, "following_count"),
        posts_count=_metric(metrics, "tweet_count"),
        likes_count=_metric(metrics, "like_count"),
        listed_count=_metric(metrics, "listed_count"),
        has_default_avatar=_default_avatar(obj),
        has_banner=has_banner,
        verified=flag(obj.get("verified"), "verified"),
        protected=flag(obj.get("protected"), "protected"),
    )
