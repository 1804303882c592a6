from datetime import UTC, datetime

import pytest

from scoring.account import Account, AccountError, format_datetime, parse_datetime


def test_round_trip_keeps_every_field_and_extras() -> None:
    row = {
        "platform": "Twitter",
        "id": 42,
        "handle": "@alice",
        "bio": "hi\x00there",
        "created_at": "2008-08-27T13:08:45Z",
        "observed_at": "2015-02-14T10:00:00+01:00",
        "followers_count": 3.0,
        "verified": None,
        "label": 1,
        "bio_length": 12,
    }
    acc = Account.from_dict(row)
    assert acc.platform == "twitter"
    assert acc.id == "42"
    assert acc.handle == "alice"
    assert acc.bio == "hithere"
    assert acc.observed_at == datetime(2015, 2, 14, 9, tzinfo=UTC)
    assert acc.followers_count == 3
    assert acc.extra == {"bio_length": 12}
    out = acc.to_dict()
    assert out["observed_at"] == "2015-02-14T09:00:00Z"
    assert out["bio_length"] == 12
    assert Account.from_dict(out) == acc


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "1"}, "platform"),
        ({"platform": "x"}, "id"),
        ({"platform": "x", "id": "1", "followers_count": -1}, "negative"),
        ({"platform": "x", "id": "1", "followers_count": "12"}, "whole number"),
        ({"platform": "x", "id": "1", "verified": 1}, "verified"),
        ({"platform": "x", "id": "1", "created_at": "yesterday"}, "ISO 8601"),
        ({"platform": "x", "id": "1", "label": 2}, "label"),
    ],
)
def test_bad_fields_are_named(row: dict[str, object], message: str) -> None:
    with pytest.raises(AccountError, match=message):
        Account.from_dict(row)


def test_naive_dates_are_utc_and_text_is_bounded() -> None:
    assert parse_datetime("2020-01-01T00:00:00") == datetime(2020, 1, 1, tzinfo=UTC)
    assert format_datetime(None) is None
    acc = Account.from_dict({"platform": "x", "id": "1", "bio": "a" * 100_000})
    assert acc.bio is not None and len(acc.bio) == 4096


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        ("x\x00y", "xy"),
        ("\x00", None),
        ("b" * 5000, "b" * 4096),
    ],
)
def test_unusual_text_takes_the_careful_path(value: str, expected: str | None) -> None:
    acc = Account.from_dict({"platform": "x", "id": "1", "location": value, "handle": value})
    assert acc.location == expected


def test_counts_flags_and_dates_of_every_accepted_shape() -> None:
    acc = Account.from_dict(
        {
            "platform": "x",
            "id": "1",
            "posts_count": 7.0,
            "likes_count": 0,
            "protected": False,
            "created_at": datetime(2020, 1, 1, 2, tzinfo=UTC),
            "last_post_at": "2020-01-01T03:00:00+02:00",
        }
    )
    assert acc.posts_count == 7 and type(acc.posts_count) is int and acc.likes_count == 0
    assert acc.protected is False
    assert acc.created_at == datetime(2020, 1, 1, 2, tzinfo=UTC)
    assert acc.last_post_at == datetime(2020, 1, 1, 1, tzinfo=UTC)
    assert acc.last_post_at.tzinfo is UTC
    with pytest.raises(AccountError, match="expected a count, got a boolean"):
        Account.from_dict({"platform": "x", "id": "1", "likes_count": True})
    with pytest.raises(AccountError, match="has_banner"):
        Account.from_dict({"platform": "x", "id": "1", "has_banner": "yes"})
    with pytest.raises(AccountError, match="expected text"):
        Account.from_dict({"platform": "x", "id": "1", "bio": 12})
