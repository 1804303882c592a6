"""Shared fixtures: a real private redis-server (restartable), a Redis client, hermetic settings
and a controllable clock. Every branch reuses these."""

from __future__ import annotations

import asyncio
import inspect
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
if str(TESTS_DIR) not in sys.path:  # helper modules beside the tests (e.g. pipeline_fakes)
    sys.path.insert(0, str(TESTS_DIR))

from bot.redis_server import RedisServer  # noqa: E402


class FakeClock:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def wait_until(
    predicate: Callable[[], Any], within: float = 15.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` (truthy, or an awaitable of truthy) every few milliseconds until it
    holds, failing after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.01)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def redis_server_session() -> Iterator[RedisServer]:
    """One redis-server for the whole session (flush it yourself, or prefer ``redis_server``)."""
    with RedisServer(appendfsync="always") as server:
        yield server


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A private redis-server for one test, on a unix socket, with AOF (``appendfsync always``)
    in a temporary data dir. ``redis_server.restart()`` keeps the data; ``stop()``/``start()``
    make an outage."""
    with RedisServer(appendfsync="always") as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Any]:
    """An asyncio Redis client (bytes replies) on the test's server."""
    from bot.pipeline.resilience import connect

    client = connect(redis_server.url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def make_settings(redis_server: RedisServer) -> Callable[..., Any]:
    """Settings pointing at the test's Redis, ignoring any .env file; keyword overrides are
    nested dicts, e.g. ``make_settings(worker={"stall_seconds": 0.5})``."""
    from bot.settings import Settings

    def build(**overrides: Any) -> Settings:
        overrides.setdefault("redis_url", redis_server.url)
        return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]

    return build
