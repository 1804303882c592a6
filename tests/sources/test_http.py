"""Reading the rate-limit headers of each platform."""

from __future__ import annotations

from multidict import CIMultiDict

from bot.sources._http import seconds_until_reset

NOW = 1_800_000_000.0


def h(**items: str) -> CIMultiDict[str]:
    return CIMultiDict({k.replace("_", "-"): v for k, v in items.items()})


def test_retry_after_seconds_and_date() -> None:
    assert seconds_until_reset(h(Retry_After="30"), NOW) == 30
    assert seconds_until_reset(h(Retry_After="0.25"), NOW) == 0.25
    date = "Fri, 15 Jan 2027 08:00:30 GMT"
    from email.utils import parsedate_to_datetime

    expected = parsedate_to_datetime(date).timestamp() - NOW
    assert seconds_until_reset(h(Retry_After=date), NOW) == max(0.0, min(expected, 86_400.0))


def test_platform_reset_headers() -> None:
    # X: epoch seconds
    assert seconds_until_reset(h(x_rate_limit_reset=str(int(NOW) + 840)), NOW) == 840
    # Bluesky: epoch seconds
    assert seconds_until_reset(h(ratelimit_reset=str(int(NOW) + 60)), NOW) == 60
    # Mastodon: ISO 8601
    from datetime import UTC, datetime

    iso = datetime.fromtimestamp(NOW + 120, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs(seconds_until_reset(h(X_RateLimit_Reset=iso), NOW) - 120) < 0.01  # type: ignore[operator]


def test_bad_or_past_values() -> None:
    assert seconds_until_reset(h(), NOW) is None
    assert seconds_until_reset(h(Retry_After="soon"), NOW) is None
    assert seconds_until_reset(h(x_rate_limit_reset=str(int(NOW) - 50)), NOW) == 0
    assert seconds_until_reset(h(Retry_After="9" * 40), NOW) == 86_400.0  # capped at a day
    assert seconds_until_reset(h(X_RateLimit_Reset="2027-01-01T00:00:00"), NOW) is None  # naive
