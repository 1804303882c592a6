"""Fixtures for the follower-source tests: one client session, fake platforms, fast settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.settings import Settings
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.mastodon import FakeMastodon

FAST_HTTP: dict[str, Any] = {
    "timeout_seconds": 1.0,
    "max_retries": 3,
    "backoff_seconds": 0.01,
    "max_rate_limit_wait_seconds": 2.0,
}


def make_settings(**sections: Any) -> Settings:
    """Settings for tests: no .env, quick retries, the given sections merged over them."""
    data: dict[str, Any] = {
        name: {**FAST_HTTP, **sections.pop(name, {})} for name in ("bluesky", "mastodon", "x")
    }
    data.update(sections)
    return Settings(_env_file=None, **data)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def bsky() -> AsyncIterator[FakeBluesky]:
    async with FakeBluesky() as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
async def masto() -> AsyncIterator[FakeMastodon]:
    async with FakeMastodon() as fake:
        yield fake  # type: ignore[misc]
