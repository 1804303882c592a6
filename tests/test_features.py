import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from scoring.account import Account
from scoring.features import FEATURE_NAMES, FIELD_FEATURES, extract, extract_columns

OBSERVED = datetime(2020, 1, 1, tzinfo=UTC)


def col(name: str) -> int:
    return FEATURE_NAMES.index(name)


def one(**fields: object) -> np.ndarray:
    fields.setdefault("platform", "twitter")
    fields.setdefault("id", "1")
    return extract([Account(**fields)])[0]  # type: ignore[arg-type]


def test_zero_followers_and_following_give_finite_counts_and_ratio() -> None:
    x = one(followers_count=0, following_count=0, posts_count=0)
    assert x[col("log_followers")] == 0.0
    assert x[col("follow_ratio")] == 0.0
    assert x[col("log_posts")] == 0.0


def test_ratio_is_log_of_followers_plus_one_over_following_plus_one() -> None:
    x = one(followers_count=3, following_count=4812)
    assert x[col("follow_ratio")] == pytest.approx(math.log(4 / 4813))


def test_missing_counts_are_nan_never_zero() -> None:
    x = one(followers_count=10)
    for name in ("log_following", "follow_ratio", "log_posts", "log_likes", "log_listed"):
        assert math.isnan(x[col(name)]), name


def test_age_is_measured_at_observed_at_not_the_clock() -> None:
    created = OBSERVED - timedelta(days=100)
    x = one(created_at=created, observed_at=OBSERVED, posts_count=0)
    assert x[col("log_age_days")] == pytest.approx(math.log1p(100.0))
    # without a snapshot time, age is unknown: never "now"
    assert math.isnan(one(created_at=created)[col("log_age_days")])


def test_future_creation_date_is_unknown_and_small_skew_is_zero_age() -> None:
    future = one(created_at=OBSERVED + timedelta(days=30), observed_at=OBSERVED)
    assert math.isnan(future[col("log_age_days")])
    assert math.isnan(future[col("posts_per_day")])
    skew = one(created_at=OBSERVED + timedelta(hours=2), observed_at=OBSERVED, posts_count=5)
    assert skew[col("log_age_days")] == 0.0
    assert skew[col("posts_per_day")] == pytest.approx(math.log1p(5.0))


def test_handle_digit_patterns() -> None:
    cols, _ = extract_columns(
        [
            Account(platform="twitter", id="1", handle="john_smith1234"),
            Account(platform="twitter", id="2", handle="a1b2"),
            Account(platform="bluesky", id="3", handle="user123.bsky.social"),
            Account(platform="mastodon", id="4", handle="bob99@mastodon.social"),
            Account(platform="twitter", id="5", handle="plain"),
        ]
    )
    assert cols.handle_chars.tolist() == [14, 4, 7, 5, 5]
    assert cols.handle_digits.tolist() == [4, 2, 3, 2, 0]
    assert cols.handle_trailing.tolist() == [4, 1, 3, 2, 0]


def test_hostile_handles_do_not_shift_their_neighbours() -> None:
    cols, _ = extract_columns(
        [
            Account(platform="twitter", id="1", handle="a\nb\n12"),
            Account(platform="twitter", id="2", handle="\ud800x99"),
            Account(platform="twitter", id="3", handle="名前42"),
            Account(platform="twitter", id="4", handle="zz7"),
        ]
    )
    assert cols.handle_trailing.tolist() == [2, 2, 2, 1]
    assert cols.handle_chars.tolist() == [6, 4, 4, 3]


def test_unicode_names_do_not_crash_and_non_latin_name_is_not_a_mismatch() -> None:
    x = extract(
        [
            Account(platform="twitter", id="1", handle="tanaka", display_name="田中 太郎"),
            Account(platform="twitter", id="2", handle="jsmith", display_name="John Smith"),
            Account(platform="twitter", id="3", handle="qwxz8812", display_name="Maria Rossi"),
            Account(platform="twitter", id="4", handle="ab", display_name="🙂🙂🙂"),
        ]
    )
    mismatch = x[:, col("name_handle_mismatch")]
    assert math.isnan(mismatch[0])
    assert mismatch[1] == 0.0
    assert mismatch[2] == 1.0
    assert math.isnan(mismatch[3])


def test_empty_text_slots_depend_on_platform_and_profile() -> None:
    x = extract(
        [
            Account(platform="twitter", id="1", handle="a"),  # real profile: empty slots
            Account(platform="bluesky", id="2", handle="a.bsky.social"),  # no url/location slot
            Account(platform="instagram", id="3"),  # anonymised counts-only record
            Account(platform="mastodon", id="4", handle="a@b", url="https://b/@a"),
        ]
    )
    assert x[0, col("bio_length")] == 0.0
    assert x[0, col("has_url")] == 0.0
    assert x[0, col("has_location")] == 0.0
    assert x[1, col("bio_length")] == 0.0
    assert math.isnan(x[1, col("has_url")]) and math.isnan(x[1, col("has_location")])
    assert np.isnan(x[2, [col("bio_length"), col("has_url"), col("handle_length")]]).all()
    assert math.isnan(x[3, col("has_url")])  # a Mastodon url is the profile page itself


def test_anonymised_extras_fill_in_for_missing_text() -> None:
    acct = Account.from_dict(
        {
            "platform": "instagram",
            "id": "x",
            "bio_length": 0,
            "handle_length": 12,
            "handle_digit_count": 4,
        }
    )
    cols, x = extract_columns([acct])
    assert x[0, col("bio_length")] == 0.0
    assert cols.handle_chars[0] == 12 and cols.handle_digits[0] == 4
    assert math.isnan(cols.handle_trailing[0])
    bad = Account.from_dict({"platform": "instagram", "id": "y", "bio_length": "lots"})
    assert math.isnan(extract([bad])[0, col("bio_length")])


def test_flags_are_one_zero_or_nan() -> None:
    x = extract(
        [
            Account(platform="t", id="1", has_default_avatar=True, verified=False),
            Account(platform="t", id="2"),
        ]
    )
    assert x[0, col("default_avatar")] == 1.0 and x[0, col("verified")] == 0.0
    assert math.isnan(x[1, col("default_avatar")]) and math.isnan(x[1, col("verified")])


def test_empty_batch_and_field_map() -> None:
    assert extract([]).shape == (0, len(FEATURE_NAMES))
    assert set(FIELD_FEATURES["url"]) == {"has_url"}
    assert "follow_ratio" in FIELD_FEATURES["followers_count"]


def test_huge_counts_stay_finite() -> None:
    x = one(followers_count=10**400, following_count=0, posts_count=10**18)
    assert np.isfinite(x[[col("log_followers"), col("follow_ratio"), col("log_posts")]]).all()
