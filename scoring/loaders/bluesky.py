"""Bluesky profiles: ``app.bsky.actor.defs#profileViewDetailed``, ``#profileView`` and
``#profileViewBasic`` (as returned by getProfile(s), getFollowers, getFollows).

Only the detailed view carries counts and ``banner``; in the lighter views they stay unknown.
An absent ``avatar`` means the default avatar. A ``bot`` label whose ``src`` is the account's
own DID is the account's self-label: it declares itself automated.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from scoring.account import Account, AccountError
from scoring.loaders._coerce import count, iso_date, require_object, text

__all__ = ["account_from_bluesky", "is_bluesky"]


def is_bluesky(obj: Mapping[str, Any]) -> bool:
    """A profile view has a ``did`` and a ``handle``."""
    return "did" in obj and "handle" in obj


def _self_labelled_bot(labels: Any, did: str) -> bool | None:
    if labels is None:
        return None
    if not isinstance(labels, list):
        raise AccountError(f"labels: expected a list, got {type(labels).__name__}")
    declared = False
    for label in labels[:256]:
        if not isinstance(label, Mapping):
            raise AccountError("labels: expected label objects")
        if label.get("val") == "bot" and label.get("src") == did:
            declared = not label.get("neg", False)
    return declared


def _verified(obj: Mapping[str, Any]) -> bool | None:
    state = obj.get("verification")
    if not isinstance(state, Mapping):
        return None
    return state.get("verifiedStatus") == "valid"


def account_from_bluesky(obj: Mapping[str, Any], *, observed_at: datetime | None) -> Account:
    """Map one Bluesky profile view to an Account."""
    obj = require_object(obj)
    did = obj.get("did")
    if not isinstance(did, str) or not did.startswith("did:"):
        raise AccountError(f"did: expected a DID like 'did:plc:...', got {str(did)[:40]!r}")
    detailed = "followersCount" in obj or "banner" in obj
    avatar = text(obj.get("avatar"), "avatar")
    return Account(
        platform="bluesky",
        id=did[:256],
        handle=text(obj.get("handle"), "handle"),
        display_name=text(obj.get("displayName"), "displayName"),
        bio=text(obj.get("description"), "description"),
        created_at=iso_date(obj.get("createdAt"), "createdAt"),
        observed_at=observed_at,
        followers_count=count(obj.get("followersCount"), "followersCount"),
        following_count=count(obj.get("followsCount"), "followsCount"),
        posts_count=count(obj.get("postsCount"), "postsCount"),
        has_default_avatar=avatar is None,
        has_banner=(text(obj.get("banner"), "banner") is not None) if detailed else None,
        verified=_verified(obj),
        declared_bot=_self_labelled_bot(obj.get("labels"), did),
    )
