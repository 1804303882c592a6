"""Which format a decoded record or API response is, and the mapper for each format."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, TypeAlias

from scoring.account import Account
from scoring.loaders.bluesky import account_from_bluesky, is_bluesky
from scoring.loaders.instafake import account_from_instafake, is_instafake
from scoring.loaders.mastodon import account_from_mastodon, is_mastodon
from scoring.loaders.neutral import account_from_neutral, account_from_neutral_csv, is_neutral
from scoring.loaders.twitter_v1 import account_from_twitter_v1, is_twitter_v1
from scoring.loaders.x_v2 import account_from_x, is_x_v2

__all__ = ["CSV_MAPPERS", "MAPPERS", "RecordMapper", "detect_record", "unwrap"]

#: (record, observed_at default, record number) -> Account; raises AccountError.
RecordMapper: TypeAlias = Callable[[Mapping[str, Any], "datetime | None", int], Account]

MAPPERS: Final[dict[str, RecordMapper]] = {
    "accounts": lambda obj, seen, _n: account_from_neutral(obj, observed_at=seen),
    "twitter-v1": lambda obj, seen, _n: account_from_twitter_v1(obj, observed_at=seen),
    "x-v2": lambda obj, seen, _n: account_from_x(obj, observed_at=seen),
    "bluesky": lambda obj, seen, _n: account_from_bluesky(obj, observed_at=seen),
    "mastodon": lambda obj, seen, _n: account_from_mastodon(obj, observed_at=seen),
    "instafake": lambda obj, seen, n: account_from_instafake(obj, observed_at=seen, record=n),
}

#: CSV rows of the formats that have a CSV form (the neutral one is typed in neutral.py).
CSV_MAPPERS: Final[dict[str, RecordMapper]] = {
    "accounts": lambda row, seen, _n: account_from_neutral_csv(row, observed_at=seen),
    "twitter-v1": lambda row, seen, _n: account_from_twitter_v1(
        row, observed_at=seen, from_csv=True
    ),
    "instafake": MAPPERS["instafake"],
}

_DETECTORS: Final = (
    ("accounts", is_neutral),
    ("instafake", is_instafake),
    ("bluesky", is_bluesky),
    ("mastodon", is_mastodon),
    ("twitter-v1", is_twitter_v1),
    ("x-v2", is_x_v2),
)

#: API responses that wrap a list of accounts: key -> the format of the items.
_WRAPPERS: Final = (
    ("followers", "bluesky"),  # app.bsky.graph.getFollowers {subject, followers, cursor}
    ("follows", "bluesky"),  # app.bsky.graph.getFollows {subject, follows, cursor}
    ("profiles", "bluesky"),  # app.bsky.actor.getProfiles {profiles}
    ("actors", "bluesky"),  # app.bsky.actor.searchActors {actors, cursor}
    ("data", "x-v2"),  # X API v2 {data, includes, meta, errors}
    ("users", "twitter-v1"),  # v1.1 followers/list {users, next_cursor}
    ("accounts", "mastodon"),  # Mastodon /api/v2/search {accounts, statuses, hashtags}
)


def detect_record(obj: Mapping[str, Any]) -> str | None:
    """The format of one record, judged by its keys; None when no format fits."""
    for name, test in _DETECTORS:
        if test(obj):
            return name
    return None


def unwrap(obj: Mapping[str, Any]) -> tuple[str, list[Any]] | None:
    """The (format, items) of an API response wrapper, or None for a plain record."""
    if "platform" in obj:
        return None
    for key, name in _WRAPPERS:
        items = obj.get(key)
        if isinstance(items, list):
            return name, items
        if key == "data" and isinstance(items, Mapping):
            return name, [items]
    return None
