"""The package exports what the pipeline and chat adapters rely on."""

from __future__ import annotations

import aiohttp
import pytest

import bot.sources as sources
from bot.sources import SourceError, source_for
from bot.sources.handles import parse_handle
from tests.sources.conftest import make_settings


def test_exported_names() -> None:
    assert set(sources.__all__) == {
        "HTTP_HEADERS",
        "AuthenticationNeeded",
        "BadHandle",
        "BadUpload",
        "BlueskySource",
        "Checkpoint",
        "FetchResult",
        "FollowerSource",
        "FollowersHidden",
        "MastodonSource",
        "NotFound",
        "PlatformUnavailable",
        "RateLimited",
        "RequestGate",
        "SourceError",
        "SuspendedOrPrivate",
        "UnusableAnswer",
        "XSource",
        "read_upload",
        "sample_size",
        "source_for",
    }
    for name in sources.__all__:
        assert getattr(sources, name) is not None


def test_error_tree_and_retryable() -> None:
    errors = [
        sources.NotFound,
        sources.SuspendedOrPrivate,
        sources.FollowersHidden,
        sources.PlatformUnavailable,
        sources.AuthenticationNeeded,
        sources.BadHandle,
        sources.BadUpload,
        sources.RateLimited,
        sources.UnusableAnswer,
    ]
    assert all(issubclass(e, SourceError) for e in errors)
    assert [e.retryable for e in errors] == [
        False, False, False, True, False, False, False, True, False
    ]  # fmt: skip
    assert issubclass(sources.UnusableAnswer, sources.PlatformUnavailable)
    assert sources.RateLimited("wait", 12.5).retry_after == 12.5


def test_sample_size_bounds() -> None:
    assert sources.sample_size(None, 1000, 5000) == 1000
    assert sources.sample_size(99_999, 1000, 5000) == 5000
    assert sources.sample_size(0, 1000, 5000) == 1
    assert sources.sample_size(-5, 1000, 5000) == 1


async def test_source_for() -> None:
    async with aiohttp.ClientSession() as session:
        settings = make_settings()
        assert source_for("bluesky", session, settings).platform == "bluesky"
        assert source_for("mastodon", session, settings).platform == "mastodon"
        assert source_for("x", session, settings).platform == "x"
        with pytest.raises(ValueError):
            source_for("myspace", session, settings)


async def test_a_misspelt_fetch_option_is_an_error_not_ignored() -> None:
    async with aiohttp.ClientSession() as session:
        source = source_for("bluesky", session, make_settings())
        handle = parse_handle("bsky:alice.bsky.social")
        with pytest.raises(TypeError, match="unexpected options: samples"):
            await source.fetch(handle, samples=10)  # type: ignore[call-arg]


async def test_hooks_may_be_sync_or_async() -> None:
    from bot.sources.base import call_hook

    seen: list[int] = []

    async def later(n: int) -> None:
        seen.append(n)

    await call_hook(seen.append, 1)
    await call_hook(later, 2)
    await call_hook(None, 3)
    assert seen == [1, 2]


def test_contract_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import Settings

    monkeypatch.setenv("FOLLOWAUDIT_BLUESKY__BASE_URL", "http://127.0.0.1:1/appview")
    monkeypatch.setenv("FOLLOWAUDIT_MASTODON__BASE_URL", "http://127.0.0.1:2")
    monkeypatch.setenv("FOLLOWAUDIT_X__BASE_URL", "http://127.0.0.1:3")
    monkeypatch.setenv("FOLLOWAUDIT_X__BEARER_TOKEN", "tok-123")
    monkeypatch.setenv("FOLLOWAUDIT_BLUESKY__TIMEOUT_SECONDS", "2.5")
    settings = Settings(_env_file=None)
    assert settings.bluesky.base_url == "http://127.0.0.1:1/appview"
    assert settings.mastodon.base_url == "http://127.0.0.1:2"
    assert settings.x.base_url == "http://127.0.0.1:3"
    assert settings.x.bearer_token is not None
    assert settings.x.bearer_token.get_secret_value() == "tok-123"
    assert settings.bluesky.timeout_seconds == 2.5


def test_defaults() -> None:
    from bot.settings import Settings

    settings = Settings(_env_file=None)
    assert settings.bluesky.base_url == "https://public.api.bsky.app"
    assert settings.x.base_url == "https://api.x.com"
    assert settings.sample.default == 1000
