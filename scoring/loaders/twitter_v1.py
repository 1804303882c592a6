"""Twitter API v1.1 user objects, as JSON or as the CSV exports of research data sets.

The CSV columns are the v1.1 field names (Cresci 2015/2017 MySQL dumps: booleans ``1`` or
empty, ``NULL`` for missing; the Kaggle 2020 set: ``True``/``False``, ISO dates and
``account_age_days``). The mapping follows shared/datasets/README.md so that raw rows load
to the same values as the converted ``accounts/`` rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from scoring.account import Account, AccountError
from scoring.loaders._coerce import count, flag, local_rome, require_object, text, twitter_date

__all__ = ["account_from_twitter_v1", "is_twitter_v1"]

_KAGGLE_MISSING_LOCATION = "unknown"


def is_twitter_v1(obj: Mapping[str, Any]) -> bool:
    """A v1.1 user object says ``screen_name`` (v2 says ``username``)."""
    return "screen_name" in obj


def _ident(obj: Mapping[str, Any]) -> str:
    ident = obj.get("id_str")
    if ident is None or ident == "":
        ident = obj.get("id")
    if isinstance(ident, int) and not isinstance(ident, bool):
        return str(ident)
    if isinstance(ident, str):
        ident = ident.strip()
        if ident.endswith(".0") and ident[:-2].isdigit():
            ident = ident[:-2]
        if ident and ident != "NULL":
            return ident[:256]
    if ident is None or ident == "":
        raise AccountError("id: required user id is missing")
    raise AccountError(f"id: expected a user id, got {str(ident)[:40]!r}")


def _observed(obj: Mapping[str, Any], created: datetime | None) -> datetime | None:
    """The crawl time: Cresci-2017 ``crawled_at``, Cresci-2015 ``updated`` (Rome local time),
    or Kaggle 2020 ``created_at + account_age_days``."""
    if "crawled_at" in obj:
        return local_rome(obj["crawled_at"], "crawled_at")
    if "account_age_days" in obj:
        days = count(obj["account_age_days"], "account_age_days")
        return None if days is None or created is None else created + timedelta(days=days)
    if "updated" in obj:
        return local_rome(obj["updated"], "updated")
    return None


def _label(obj: Mapping[str, Any]) -> int | None:
    kind = obj.get("account_type")
    if kind is None or kind == "":
        return None
    if kind in ("bot", 1, "1"):
        return 1
    if kind in ("human", 0, "0"):
        return 0
    raise AccountError(f"account_type: expected bot or human, got {str(kind)[:40]!r}")


def _banner(obj: Mapping[str, Any], from_csv: bool) -> bool | None:
    if "profile_banner_url" in obj:
        banner = text(obj["profile_banner_url"], "profile_banner_url", null_marker=True)
        return banner is not None
    # The API leaves the key out when there is no banner; a CSV without the column says nothing.
    if not from_csv and "default_profile_image" in obj:
        return False
    return None


def _last_post(obj: Mapping[str, Any]) -> datetime | None:
    status = obj.get("status")
    if isinstance(status, Mapping):
        return twitter_date(status.get("created_at"), "status.created_at")
    return None


def account_from_twitter_v1(
    obj: Mapping[str, Any], *, observed_at: datetime | None, from_csv: bool = False
) -> Account:
    """Map one v1.1 user object (JSON values or CSV strings) to an Account.

    In CSV rows an empty boolean cell is false, as in the research dumps; a column that is
    absent stays unknown. A full API object (one with ``default_profile_image``) without
    ``profile_banner_url`` has no banner. ``observed_at`` is used when the row carries no
    crawl time.
    """
    obj = require_object(obj)
    ident = _ident(obj)
    created = twitter_date(obj.get("created_at"), "created_at")
    location = text(obj.get("location"), "location", null_marker=from_csv)
    kaggle = "account_age_days" in obj
    if kaggle and location == _KAGGLE_MISSING_LOCATION:
        location = None
    handle = text(obj.get("screen_name"), "screen_name", null_marker=from_csv)
    return Account(
        platform="twitter",
        id=ident,
        handle=handle[1:] if handle and handle.startswith("@") else handle,
        display_name=text(obj.get("name"), "name", null_marker=from_csv),
        bio=text(obj.get("description"), "description", null_marker=from_csv),
        url=text(obj.get("url"), "url", null_marker=from_csv),
        location=location,
        created_at=created,
        observed_at=_observed(obj, created) or observed_at,
        last_post_at=_last_post(obj),
        followers_count=count(obj.get("followers_count"), "followers_count"),
        following_count=count(obj.get("friends_count"), "friends_count"),
        posts_count=count(obj.get("statuses_count"), "statuses_count"),
        likes_count=count(obj.get("favourites_count"), "favourites_count"),
        listed_count=count(obj.get("listed_count"), "listed_count"),
        has_default_avatar=flag(
            obj.get("default_profile_image"), "default_profile_image", empty=False
        ),
        has_banner=_banner(obj, from_csv),
        verified=flag(obj.get("verified"), "verified", empty=False),
        protected=flag(obj.get("protected"), "protected", empty=False),
        declared_bot=None,
        label=_label(obj),
    )
