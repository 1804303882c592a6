"""Delivery streams: an adapter that restarts delivers what arrived while it was down, once."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.pipeline.delivery import DeliveryConsumer
from bot.pipeline.messages import AuditJob, AuditOutcome
from bot.pipeline.service import AuditService
from bot.pipeline.store import WORKER_GROUP, Store
from tests.helpers import wait_until
from tests.pipeline_fakes import Collector, request
from tests.reports import make_report


async def _answer(store: Store, job_id: str, text: str) -> int:
    """Finish a queued job the way a worker does (start, then the finish script)."""
    await store.ensure_group(store.stream, WORKER_GROUP)
    entries = await store.redis.xreadgroup(WORKER_GROUP, "w", {store.stream: ">"}, count=1)
    for _stream, items in entries:
        for msg_id, fields in items:
            job = AuditJob.from_json(fields[b"job"])
            if job.job_id == job_id:
                await store.start(job.job_id, "w", 0.0)
                return await store.finish(
                    job, msg_id.decode(), AuditOutcome(report=make_report(verdict=text)), now=1.0,
                    cache_ttl=60, retention=3600, history_max=5, maxlen=1000,
                )  # fmt: skip
    raise AssertionError("job not queued")


async def test_adapter_restart_delivers_backlog_once(redis: Any, make_settings: Any) -> None:
    settings = make_settings()
    service = AuditService.from_settings(redis, settings)
    store = Store(redis)
    first, stop = Collector(), asyncio.Event()
    consumer = DeliveryConsumer(redis, "test", first, consumer="bot-1", block=0.05)
    task = asyncio.create_task(consumer.run(stop))
    await consumer.ready.wait()
    a = await service.submit(request("a.test"))
    assert await _answer(store, a.job_id or "", "report A") == 1
    await wait_until(lambda: first.results(), what="first delivery")
    stop.set()
    await task  # the adapter is down
    b = await service.submit(request("b.test", user="u2"))
    c = await service.submit(request("c.test", user="u3"))
    await _answer(store, b.job_id or "", "report B")
    await _answer(store, c.job_id or "", "report C")
    again, stop2 = Collector(), asyncio.Event()
    restarted = DeliveryConsumer(redis, "test", again, consumer="bot-1", block=0.05)
    task2 = asyncio.create_task(restarted.run(stop2))
    await wait_until(lambda: len(again.results()) == 2, what="backlog delivered")
    await wait_until(lambda: _eq(redis.xlen(restarted.stream), 0), what="stream emptied")
    stop2.set()
    await task2
    verdicts = sorted(d.outcome.report.audit.verdict for d in again.results())
    assert verdicts == ["report B", "report C"]
    assert len(first.results()) == 1


async def _eq(value: Any, expected: int) -> bool:
    return bool(await value == expected)


async def test_failed_delivery_is_retried_and_a_crashed_instances_backlog_taken_over(
    redis: Any, make_settings: Any
) -> None:
    service = AuditService.from_settings(redis, make_settings())
    store = Store(redis)
    a = await service.submit(request("a.test"))
    await _answer(store, a.job_id or "", "report A")
    # an instance read the entry and died before acknowledging it
    stream = store.delivery_stream("test")
    await store.ensure_group(stream, "adapter")
    got = await redis.xreadgroup("adapter", "dead-instance", {stream: ">"}, count=10)
    assert len(got[0][1]) == 1
    collector, stop = Collector(), asyncio.Event()
    collector.fail_next = 1  # the chat API fails once
    live = DeliveryConsumer(redis, "test", collector, consumer="live", claim_idle=0.2, block=0.05)
    task = asyncio.create_task(live.run(stop))
    await wait_until(lambda: collector.results(), what="delivery after takeover and retry")
    await wait_until(lambda: _eq(redis.xlen(stream), 0), what="acknowledged")
    stop.set()
    await task
    assert len(collector.results()) == 1 and live.delivered == 1


async def test_malformed_delivery_is_dropped_and_the_adapter_continues(
    redis: Any, make_settings: Any
) -> None:
    service = AuditService.from_settings(redis, make_settings())
    store = Store(redis)
    stream = store.delivery_stream("test")
    await redis.xadd(stream, {b"d": b"{broken"})
    a = await service.submit(request("a.test"))
    await _answer(store, a.job_id or "", "report A")
    collector, stop = Collector(), asyncio.Event()
    consumer = DeliveryConsumer(redis, "test", collector, block=0.05)
    task = asyncio.create_task(consumer.run(stop))
    await wait_until(lambda: collector.results(), what="good delivery")
    await wait_until(lambda: _eq(redis.xlen(stream), 0), what="both acknowledged")
    stop.set()
    await task


async def test_a_delivery_that_keeps_failing_is_dropped_after_its_tries(
    redis: Any, make_settings: Any, caplog: Any
) -> None:
    service = AuditService.from_settings(redis, make_settings())
    store = Store(redis)
    a = await service.submit(request("a.test"))
    await _answer(store, a.job_id or "", "report A")
    collector, stop = Collector(), asyncio.Event()
    collector.fail_next = 1000  # the chat refuses this conversation for good
    consumer = DeliveryConsumer(redis, "test", collector, claim_idle=0.05, block=0.05,
                                max_failures=3)  # fmt: skip
    task = asyncio.create_task(consumer.run(stop))
    await wait_until(lambda: _eq(redis.xlen(consumer.stream), 0), what="dropped")
    stop.set()
    await task
    assert collector.fail_next == 1000 - 3 and not collector.results()
    assert any("dropped" in r.getMessage() for r in caplog.records)
