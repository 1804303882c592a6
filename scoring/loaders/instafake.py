"""InstaFake (Akyon & Kalfaoglu 2019) anonymised Instagram records, mapped as in
shared/datasets/README.md: counts, picture and privacy flags, and numeric extras.

The records carry no id; each gets ``instafake-<record number>`` unless it is already a
neutral row (with ``platform`` and ``id``), which loads as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from scoring.account import Account, AccountError
from scoring.loaders._coerce import count, flag, require_object
from scoring.loaders.neutral import account_from_neutral

__all__ = ["EXTRAS", "account_from_instafake", "is_instafake"]

#: Neutral extra field -> InstaFake key; every extra is present (null when the record lacks it).
EXTRAS: Final = (
    ("bio_length", "userBiographyLength"),
    ("handle_length", "usernameLength"),
    ("handle_digit_count", "usernameDigitCount"),
    ("has_url", "userHasExternalUrl"),
    ("has_highlight_reels", "userHasHighlighReels"),
    ("user_tags_count", "userTagsCount"),
)
_FLAG_EXTRAS: Final = frozenset(("has_url", "has_highlight_reels"))


def is_instafake(obj: Mapping[str, Any]) -> bool:
    """InstaFake records name their counts ``userFollowerCount`` and so on."""
    return "userFollowerCount" in obj or "userMediaCount" in obj


def _label(obj: Mapping[str, Any]) -> int | None:
    for key in ("isFake", "automatedBehaviour"):
        value = flag(obj.get(key), key)
        if value is not None:
            return int(value)
    return None


def account_from_instafake(
    obj: Mapping[str, Any], *, observed_at: datetime | None, record: int = 1
) -> Account:
    """Map one InstaFake record; ``record`` (1-based) makes its synthetic id."""
    obj = require_object(obj)
    if "platform" in obj:
        return account_from_neutral(obj, observed_at=observed_at)
    if not is_instafake(obj):
        raise AccountError("not an InstaFake record: userFollowerCount is missing")
    picture = flag(obj.get("userHasProfilPic"), "userHasProfilPic")
    extra: dict[str, Any] = {}
    for name, key in EXTRAS:
        value = obj.get(key)
        extra[name] = flag(value, key) if name in _FLAG_EXTRAS else count(value, key)
    return Account(
        platform="instagram",
        id=f"instafake-{record:04d}",
        observed_at=observed_at,
        followers_count=count(obj.get("userFollowerCount"), "userFollowerCount"),
        following_count=count(obj.get("userFollowingCount"), "userFollowingCount"),
        posts_count=count(obj.get("userMediaCount"), "userMediaCount"),
        has_default_avatar=None if picture is None else not picture,
        protected=flag(obj.get("userIsPrivate"), "userIsPrivate"),
        label=_label(obj),
        extra=extra,
    )
