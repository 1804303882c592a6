"""Views: the shape a follower record has on each platform, so the model is validated as used.

A Bluesky profile has no like or list counts, link or location, and shows a banner only when one
is set; a Mastodon account lacks the same features (its links are not read as a profile link, a
default header is not evidence). The model scores such records
with those features unknown, and its probabilities then spread differently than on full Twitter
records: a fake-share estimate read against full-record validation calls them unfamiliar. So
training also scores every held-out account *as a platform would return it* (:func:`as_seen_on`)
and keeps those histograms per view, with how often each feature is known there; the audit
estimates a sample's share with the view whose feature availability is closest to the sample's
(:func:`closest_view`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from scoring.account import Account
from scoring.features import extract, known_fractions

__all__ = [
    "FULL",
    "VIEWS",
    "View",
    "as_seen_on",
    "closest_view",
    "known_rates",
]


@dataclass(frozen=True, slots=True)
class View:
    """How one platform returns a follower: the platform it is read as, and what it lacks."""

    name: str
    doc: str
    #: The platform the record is read as (its platform rules apply); None keeps the record's.
    platform: str | None = None
    #: Account fields the platform does not return (set to None).
    blank: tuple[str, ...] = ()
    #: When set, only these count fields are kept (everything else is unknown).
    counts_only: tuple[str, ...] | None = None


#: The record as collected (Twitter/X, Instagram exports): the model's main validation.
FULL: Final = View("full", "records as collected (Twitter/X API v1.1/v2, Instagram exports)")
VIEWS: Final[tuple[View, ...]] = (
    View(
        "bluesky",
        "as Bluesky (and, feature for feature, Mastodon) returns them: no likes, lists, link, "
        "location or verification; a missing banner is unknown",
        platform="bluesky",
        blank=("likes_count", "listed_count", "url", "location", "verified", "protected"),
    ),
    View(
        "counts",
        "follower, following, post, like and list counts only (a bare export)",
        counts_only=(
            "followers_count",
            "following_count",
            "posts_count",
            "likes_count",
            "listed_count",
        ),
    ),
)


def as_seen_on(account: Account, view: View) -> Account:
    """The record ``view``'s platform would return for ``account`` (label and source kept)."""
    if view.counts_only is not None:
        kept = {name: getattr(account, name) for name in view.counts_only}
        return Account(
            platform=view.platform or account.platform,
            id=account.id,
            label=account.label,
            source=account.source,
            **kept,
        )
    changes: dict[str, object] = dict.fromkeys(view.blank)
    if view.platform is not None:
        changes["platform"] = view.platform
    return dataclasses.replace(account, **changes)  # type: ignore[arg-type]


def seen_as(accounts: Sequence[Account], name: str | None) -> Sequence[Account]:
    """``accounts`` as the view called ``name`` returns them; unchanged for ``full``, None or a
    name no view has."""
    shape = next((v for v in VIEWS if v.name == name), None)
    return accounts if shape is None else [as_seen_on(a, shape) for a in accounts]


def known_rates(
    accounts: Sequence[Account], features: Sequence[str] | None = None
) -> dict[str, float]:
    """How often each feature (default: all) is known in ``accounts``, 0..1."""
    return known_fractions(extract(accounts), features)


def closest_view(
    sample: Mapping[str, float], views: Mapping[str, Mapping[str, float]]
) -> str | None:
    """The view whose feature availability is nearest the sample's (least total absolute
    difference over the view's features; the first listed wins a tie), or None without views."""
    best: tuple[float, str] | None = None
    for name, rates in views.items():
        distance = sum(abs(sample.get(feature, 0.0) - rate) for feature, rate in rates.items())
        if best is None or distance < best[0]:
            best = (distance, name)
    return None if best is None else best[1]
