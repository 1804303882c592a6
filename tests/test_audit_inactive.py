from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scoring.account import Account
from scoring.audit.inactive import estimate_inactive, wilson_interval

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def acc(i: int, last: int | None, *, posts: int | None = None, age: int = 1000) -> Account:
    return Account(
        platform="bluesky",
        id=str(i),
        observed_at=NOW,
        created_at=NOW - timedelta(days=age),
        last_post_at=None if last is None else NOW - timedelta(days=last),
        posts_count=posts,
    )


def test_silent_accounts_count_and_unknown_ones_are_left_out() -> None:
    accounts = [acc(0, 10), acc(1, 200), acc(2, 91), acc(3, None), acc(4, 90)]
    out = estimate_inactive(accounts)
    assert out is not None
    assert (out.count, out.known, out.days) == (2, 4, 90)
    assert out.share == pytest.approx(0.5)
    assert out.low < 0.5 < out.high


def test_days_are_configurable() -> None:
    out = estimate_inactive([acc(0, 10), acc(1, 40)], days=30)
    assert out is not None and out.count == 1


def test_never_posted_old_account_is_inactive_but_a_new_one_is_not() -> None:
    out = estimate_inactive([acc(0, None, posts=0, age=400), acc(1, None, posts=0, age=10)])
    assert out is not None and (out.count, out.known) == (1, 2)


def test_no_activity_data_means_no_share() -> None:
    assert estimate_inactive([acc(0, None), acc(1, None, posts=5)]) is None
    assert estimate_inactive([]) is None


def test_missing_observed_at_uses_the_audit_time() -> None:
    a = Account(platform="x", id="1", last_post_at=NOW - timedelta(days=100))
    assert estimate_inactive([a]) is None
    out = estimate_inactive([a], observed_at=NOW)
    assert out is not None and out.count == 1


def test_wilson_interval_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 50)
    assert low == 0.0 and 0.0 < high < 0.1
    low, high = wilson_interval(50, 50)
    assert 0.9 < low < 1.0 and high == 1.0
