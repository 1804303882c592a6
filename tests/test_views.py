"""Views: records as each platform returns them, and the validation an audit reads for them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np

from scoring.account import Account
from scoring.audit import audit_accounts
from scoring.audit.quantify import choose_view, estimator_for
from scoring.model import load_model
from scoring.views import FULL, VIEWS, as_seen_on, closest_view, known_rates
from tests.labelled import needs_data, rows

BLUESKY = next(v for v in VIEWS if v.name == "bluesky")
COUNTS = next(v for v in VIEWS if v.name == "counts")
SEEN = datetime(2020, 1, 1, tzinfo=UTC)


def twitter(i: int, **changes: object) -> Account:
    base = Account(
        platform="twitter",
        id=str(i),
        handle=f"person{i}",
        display_name=f"Person {i}",
        bio="I write about birds.",
        url="https://example.org",
        location="Pisa",
        created_at=datetime(2012, 5, 1, tzinfo=UTC),
        observed_at=SEEN,
        followers_count=300 + i,
        following_count=200,
        posts_count=4000,
        likes_count=900,
        listed_count=4,
        has_default_avatar=False,
        has_banner=False,
        verified=False,
        protected=False,
        label=0,
        source="test/part",
    )
    return Account(**{**{f: getattr(base, f) for f in base.__slots__ if f != "extra"}, **changes})


def test_a_bluesky_view_drops_what_bluesky_does_not_return() -> None:
    seen = as_seen_on(twitter(1), BLUESKY)
    assert seen.platform == "bluesky"
    assert seen.likes_count is None and seen.listed_count is None
    assert seen.url is None and seen.location is None and seen.verified is None
    assert (seen.followers_count, seen.posts_count, seen.bio) == (301, 4000, "I write about birds.")
    assert (seen.label, seen.source) == (0, "test/part")
    rates = known_rates([seen])
    # a missing banner is not evidence on Bluesky; one that is set still is
    assert rates["has_banner"] == 0.0
    assert known_rates([as_seen_on(twitter(1, has_banner=True), BLUESKY)])["has_banner"] == 1.0
    assert rates["log_likes"] == 0.0 and rates["log_followers"] == 1.0


def test_a_counts_view_keeps_counts_only() -> None:
    seen = as_seen_on(twitter(2), COUNTS)
    assert seen.handle is None and seen.bio is None and seen.created_at is None
    assert (seen.followers_count, seen.likes_count, seen.listed_count) == (302, 900, 4)
    rates = known_rates([seen])
    assert rates["log_likes"] == 1.0 and rates["log_age_days"] == 0.0 and rates["bio_length"] == 0.0


def test_the_full_view_is_the_record_itself() -> None:
    assert FULL.name == "full" and all(v.name != FULL.name for v in VIEWS)
    assert known_rates([]) == dict.fromkeys(known_rates([twitter(3)]), 0.0)


def test_closest_view_is_the_nearest_availability() -> None:
    views = {"full": {"a": 1.0, "b": 1.0}, "thin": {"a": 1.0, "b": 0.0}}
    assert closest_view({"a": 1.0, "b": 0.9}, views) == "full"
    assert closest_view({"a": 1.0, "b": 0.2}, views) == "thin"
    assert closest_view({"a": 1.0, "b": 0.5}, views) == "full"  # a tie: the first listed
    assert closest_view({"a": 1.0}, {}) is None


def test_the_packaged_model_picks_the_view_of_each_platform() -> None:
    validation = load_model().validation
    assert set(validation["views"]) == {"full", "bluesky", "counts"}
    people = [twitter(i) for i in range(20)]
    assert choose_view(validation, people) == "full"
    assert choose_view(validation, [as_seen_on(a, BLUESKY) for a in people]) == "bluesky"
    mastodon = [
        Account(
            platform="mastodon",
            id=str(i),
            handle=f"p{i}@example.social",
            bio="hi",
            url="https://example.org",
            created_at=datetime(2022, 1, 1, tzinfo=UTC),
            observed_at=SEEN.replace(year=2025),
            followers_count=10,
            following_count=20,
            posts_count=30,
            has_default_avatar=False,
            has_banner=False,
            protected=False,
        )
        for i in range(5)
    ]
    assert choose_view(validation, mastodon) == "bluesky"
    assert choose_view(validation, [as_seen_on(a, COUNTS) for a in people]) == "counts"
    assert choose_view(validation, []) is None
    assert choose_view({"cv": validation["cv"]}, people) is None  # an artifact without views


def test_an_estimate_names_its_view_and_reads_that_views_histograms() -> None:
    validation = load_model().validation
    p = np.r_[np.full(700, 0.1), np.full(300, 0.9)]
    full, bluesky = estimator_for(validation, "full"), estimator_for(validation, "bluesky")
    assert full.estimate(p).view == "full" and bluesky.estimate(p).view == "bluesky"
    assert estimator_for(validation, "nonsense").estimate(p).view is None
    # the two views' class histograms differ, so the same probabilities read differently
    assert full.estimate(p).estimate != bluesky.estimate(p).estimate
    assert estimator_for(validation, "bluesky") is bluesky  # tabulated once


@needs_data
def test_a_bluesky_shaped_audience_is_measured_not_called_unfamiliar() -> None:
    model = load_model()
    audience = [as_seen_on(a, BLUESKY) for a in rows(0, 700, 21) + rows(1, 300, 22)]
    report = audit_accounts(audience, model)
    share = report.fake_share
    assert share.view == "bluesky" and share.method == "mixture-mle"
    assert share.estimate is not None and share.low is not None and share.high is not None
    assert share.low <= 0.3 <= share.high and share.high - share.low < 0.2
    assert not report.verdict.startswith("Inconclusive")
    assert json.loads(json.dumps(report.to_dict()))["fake_share"]["view"] == "bluesky"
    # read against full-record validation, the same probabilities look unfamiliar
    p = model.predict_proba(audience)
    assert estimator_for(model.validation, "full").estimate(p).method == "count-unfamiliar"
