"""The Redis connection pool (issue 15, item 6): many concurrent calls wait for a free connection
instead of failing, and only a Redis that is really down is logged as an outage."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot.infra.redis_server import RedisServer
from bot.infra.runtime import open_redis, redis_pool_size
from bot.pipeline.resilience import TRANSIENT, retrying


async def test_concurrent_calls_beyond_the_pool_wait_and_log_no_outage(
    make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings()
    calls = 200
    async with open_redis(settings) as redis:
        assert redis.connection_pool.max_connections == redis_pool_size(settings) < calls
        with caplog.at_level(logging.DEBUG, logger="followaudit.redis"):
            # Each call holds its connection for 20 ms, so the pool is exhausted many times over.
            replies = await asyncio.gather(*(
                retrying(lambda: redis.blpop(["fa:test:nothing"], timeout=0.02), what="test")
                for _ in range(calls)
            ))  # fmt: skip
    assert replies == [None] * calls
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_redis_that_is_down_is_logged_as_an_outage(
    redis: Any, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    await redis.ping()
    redis_server.stop()
    with caplog.at_level(logging.WARNING, logger="followaudit.redis"), pytest.raises(TRANSIENT):
        await retrying(redis.ping, what="test", give_up_after=0.2)
    assert any(r.getMessage() == "redis unavailable, retrying" for r in caplog.records)


def test_the_pool_is_sized_for_the_configured_concurrency(make_settings: Any) -> None:
    small = redis_pool_size(make_settings())
    busy = redis_pool_size(make_settings(worker={"concurrency": 40},
                                         telegram={"concurrent_updates": 200}))  # fmt: skip
    # At least a connection for every audit and every chat update that may run at once.
    assert small >= 4 + 32 and busy >= 40 + 200 and busy > small
