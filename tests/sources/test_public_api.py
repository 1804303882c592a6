"""The package exports what the pipeline and chat adapters rely on."""

from __future__ import annotations

import aiohttp
import pytest

import bot.sources as sources
from bot.sources import SourceError, source_for
from tests.sources.conftest import make_settings


def test_exported_names() -> None:
    assert set(sources.__all__) == {
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
        "SourceError",
        "SuspendedOrPrivate",
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
    ]
    assert all(issubclass(e, SourceError) for e in errors)
    assert [e.retryable for e in errors] == [False, False, False, True, False, False, False, True]
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
