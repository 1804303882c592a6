"""Shared fixtures: a real private redis-server (restartable), a Redis client, hermetic settings
and a controllable clock. Every branch reuses these."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from bot.infra.redis_server import RedisServer
from tests.helpers import FakeClock


@pytest.fixture(scope="session", autouse=True)
def private_state_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test, and every process a test starts (they inherit the environment), keeps its
    state (the console chat's log, an embedded Redis's data) under a temporary directory, never
    in the developer's home."""
    base = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(base / "state"))
        patch.setenv("XDG_DATA_HOME", str(base / "data"))
        yield


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


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many tests skipped for lack of the labelled data, and where to get it."""
    from tests.labelled import ABSENT, DATA

    skipped = terminalreporter.stats.get("skipped", [])
    absent = sum(ABSENT in str(getattr(r, "longrepr", "")) for r in skipped)
    if absent:
        terminalreporter.write_line(
            f"{absent} test{'s' * (absent != 1)} skipped: no labelled data at {DATA} "
            "(see README, 'The labelled data'; set FOLLOWAUDIT_DATASETS)",
            yellow=True,
        )
