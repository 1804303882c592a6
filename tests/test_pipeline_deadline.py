"""One deadline per audit (issue 15, item 4): the real worker and runner against the fake Bluesky
on loopback, with real Redis. Rate limits longer than the time left and permanent platform errors
are answered at once; a hanging platform is answered at the deadline, not after every retry."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.audit.runner import PlatformAuditRunner
from bot.pipeline.budget import RedisBudgets
from bot.pipeline.delivery import DeliveryConsumer
from bot.pipeline.service import AuditService
from bot.pipeline.store import Store
from bot.pipeline.worker import Worker
from tests.fakes.bluesky import FakeBluesky
from tests.helpers import wait_until
from tests.pipeline_fakes import Collector, request


@pytest.fixture
async def bsky() -> AsyncIterator[FakeBluesky]:
    async with FakeBluesky() as fake:
        did = fake.add_account("alice.test")
        fake.add_followers(did, 50)
        yield fake  # type: ignore[misc]


@contextlib.asynccontextmanager
async def pipeline(redis: Any, settings: Any) -> AsyncIterator[tuple[AuditService, Collector]]:
    """A worker with the real runner and a collecting chat adapter, until the block ends."""
    service = AuditService.from_settings(redis, settings)
    budgets = RedisBudgets(Store(redis), settings.limits.platforms, clock=service.clock)
    runner = PlatformAuditRunner(settings, budgets)
    collector, stop = Collector(), asyncio.Event()
    consumer = DeliveryConsumer(redis, "test", collector, block=0.05)
    tasks = [
        asyncio.create_task(consumer.run(stop)),
        asyncio.create_task(Worker(redis, settings, runner).run(stop)),
    ]
    try:
        yield service, collector
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await runner.aclose()


async def answer_of(redis: Any, settings: Any) -> Any:
    """Submit one audit of alice.test and return the error of its answer."""
    async with pipeline(redis, settings) as (service, collector):
        await service.submit(request("alice.test", sample=50))
        await wait_until(lambda: collector.results(), within=10, what="the answer")
        (result,) = collector.results()
    assert result.outcome.error is not None
    return result.outcome.error


def fast(make_settings: Any, bsky: FakeBluesky, **worker: Any) -> Any:
    """Settings with short backoffs, so only the deadline or the retry count can bound a test."""
    return make_settings(
        bluesky={"base_url": bsky.base_url, "timeout_seconds": 0.2, "backoff_seconds": 0.01,
                 "max_body_bytes": 4096},
        worker={"retry_base_seconds": 0.05, "audit_deadline_seconds": 5.0, **worker},
    )  # fmt: skip


async def test_a_rate_limit_longer_than_the_deadline_is_answered_at_once(
    redis: Any, make_settings: Any, bsky: FakeBluesky
) -> None:
    bsky.fail("getFollowers", "429", times=10, retry_after=3600)
    error = await answer_of(redis, fast(make_settings, bsky))
    assert error.code == "unavailable" and "60 min" in error.message
    assert error.retry_after is not None and 3500 <= error.retry_after <= 3600
    assert bsky.requests["getFollowers"] == 1  # not retried: it cannot succeed in time


@pytest.mark.parametrize("kind", ["redirect", "too_large", "wrong_shape"])
async def test_permanent_platform_errors_are_answered_at_once(
    redis: Any, make_settings: Any, bsky: FakeBluesky, kind: str
) -> None:
    bsky.fail("getFollowers", kind, times=10)
    error = await answer_of(redis, fast(make_settings, bsky))
    assert error.code == "unusable_answer" and "Bluesky" in error.message
    assert bsky.requests["getFollowers"] == 1


async def test_a_hanging_platform_is_answered_at_the_deadline(
    redis: Any, make_settings: Any, bsky: FakeBluesky
) -> None:
    bsky.fail("getFollowers", "timeout", times=100)
    settings = fast(make_settings, bsky, audit_deadline_seconds=0.5)
    error = await answer_of(redis, settings)
    assert error.code == "timeout" and "too long" in error.message
    # 0.2 s per request: the deadline leaves room for 3 of the 16 (4 attempts x 4 tries each).
    assert 2 <= bsky.requests["getFollowers"] <= 4


async def test_a_platform_budget_spent_for_longer_than_the_deadline_is_answered_at_once(
    redis: Any, make_settings: Any, bsky: FakeBluesky
) -> None:
    settings = fast(make_settings, bsky)
    settings.limits.platforms["bluesky"].requests = 1
    settings.limits.platforms["bluesky"].window_seconds = 3600
    error = await answer_of(redis, settings)
    assert error.code == "unavailable" and "budget" in error.message and "min" in error.message
    assert error.retry_after is not None and error.retry_after > 3000
    # The one request the budget allows (it may time out unanswered on a loaded machine).
    assert bsky.total_requests <= 1
