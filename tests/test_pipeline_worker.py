"""Submit, work and deliver in one process against a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.pipeline.delivery import DeliveryConsumer
from bot.pipeline.messages import AuditJob
from bot.pipeline.service import AuditService
from bot.pipeline.store import WORKER_GROUP, Store
from bot.pipeline.worker import RedisCheckpoint, Worker
from tests.helpers import FakeClock, wait_until
from tests.pipeline_fakes import Collector, FakePlatform, PlatformRunner, request


class Harness:
    def __init__(self, redis: Any, settings: Any, platform: FakePlatform, clock: FakeClock) -> None:
        self.redis, self.settings, self.platform, self.clock = redis, settings, platform, clock
        self.service = AuditService.from_settings(redis, settings, clock=clock)
        self.collector = Collector()
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.workers: list[Worker] = []
        self.runners: list[PlatformRunner] = []

    def start_worker(self, **kw: Any) -> Worker:
        runner = PlatformRunner(self.platform.url)
        worker = Worker(self.redis, self.settings, runner, clock=self.clock, **kw)
        self.workers.append(worker)
        self.runners.append(runner)
        self.tasks.append(asyncio.create_task(worker.run(self.stop)))
        return worker

    async def start_adapter(self, name: str = "test") -> DeliveryConsumer:
        consumer = DeliveryConsumer(self.redis, name, self.collector, block=0.05)
        self.tasks.append(asyncio.create_task(consumer.run(self.stop)))
        await consumer.ready.wait()
        return consumer

    async def close(self) -> None:
        self.stop.set()
        done, pending = await asyncio.wait(self.tasks, timeout=30)
        if pending:  # say which part did not stop, with its stack, rather than hang
            stacks = "\n".join(f"{t.get_name()}: {t.get_stack()}" for t in pending)
            for t in pending:
                t.cancel()
            raise AssertionError(f"did not stop within 30 s:\n{stacks}")
        for t in done:
            t.result()
        for runner in self.runners:
            await runner.aclose()


@pytest.fixture
async def platform() -> AsyncIterator[FakePlatform]:
    p = FakePlatform(followers=250)
    await p.start()
    yield p
    await p.close()


@pytest.fixture
async def harness(redis: Any, make_settings: Any, platform: FakePlatform, clock: FakeClock,
                  ) -> AsyncIterator[Harness]:  # fmt: skip
    settings = make_settings(
        worker={"stall_seconds": 1.0, "concurrency": 4, "retry_base_seconds": 0.0,
                "progress_interval_seconds": 0.0, "shutdown_grace_seconds": 0.5,
                "checkpoint_interval_seconds": 0.0},
        limits={"user_requests": 1000, "chat_requests": 1000, "user_in_flight": 100},
    )  # fmt: skip
    h = Harness(redis, settings, platform, clock)
    yield h
    await h.close()


async def test_queued_audit_is_delivered_once_with_progress(harness: Harness) -> None:
    await harness.start_adapter()
    req = request("alice.test")
    sub = await harness.service.submit(req)
    assert sub.status == "queued" and sub.position == 1
    harness.start_worker()
    await wait_until(lambda: harness.collector.results(), what="result")
    (result,) = harness.collector.results()
    assert result.request.request_id == req.request_id
    assert result.outcome.ok and result.outcome.report.audit.grade_label == "Grade A"
    assert result.outcome.report.audit.sample.size == 250
    stages = [d.progress.stage for d in harness.collector.progress()]
    assert stages[0] == "fetching" and stages[-1] == "scoring"
    fetching = [d.progress for d in harness.collector.progress() if d.progress.stage == "fetching"]
    assert [p.done for p in fetching] == [0, 100, 200]
    assert all("grade" not in p.describe().lower() for p in fetching)
    # the queue entry is acknowledged and deleted; nothing left pending
    store = Store(harness.redis)
    assert await harness.redis.xlen(store.stream) == 0
    assert (await harness.redis.xpending(store.stream, WORKER_GROUP))["pending"] == 0
    assert await store.queued() == 0


async def test_ten_simultaneous_requests_share_one_fetch(harness: Harness) -> None:
    harness.platform.hold("bob.test", 0)
    await harness.start_adapter()
    harness.start_worker()
    reqs = [request("bob.test", user=f"u{i}") for i in range(10)]
    subs = await asyncio.gather(*(harness.service.submit(r) for r in reqs))
    assert sorted(s.status for s in subs) == ["coalesced"] * 9 + ["queued"]
    assert len({s.job_id for s in subs}) == 1
    harness.platform.release("bob.test", 0)
    await wait_until(lambda: len(harness.collector.results()) == 10, what="ten answers")
    assert harness.platform.fetches("bob.test") == 1
    assert sorted(d.request.request_id for d in harness.collector.results()) == sorted(
        r.request_id for r in reqs
    )


async def test_cache_answers_with_age_until_stale(harness: Harness) -> None:
    await harness.start_adapter()
    harness.start_worker()
    first = await harness.service.submit(request("carol.test"))
    await wait_until(lambda: harness.collector.results(), what="first result")
    harness.clock.advance(120)
    again = await harness.service.submit(request("carol.test", user="u2"))
    assert again.status == "cached" and again.job_id == first.job_id
    assert again.age == pytest.approx(120) and "2 min ago" in again.describe()
    assert again.outcome is not None and again.outcome.report.audit.grade_label == "Grade A"
    fresh = await harness.service.submit(request("carol.test", user="u3", fresh=True))
    assert fresh.status == "queued"
    await wait_until(lambda: len(harness.collector.results()) == 2, what="fresh result")
    harness.clock.advance(harness.settings.cache.ttl_seconds + 1)
    stale = await harness.service.submit(request("carol.test", user="u4"))
    assert stale.status == "queued"
    await wait_until(lambda: len(harness.collector.results()) == 3, what="stale re-audit")
    assert harness.platform.fetches("carol.test") == 3
    history = await harness.service.history("bluesky", "carol.test")
    assert len(history) == 3


async def test_transient_errors_are_retried_then_answered(harness: Harness) -> None:
    await harness.start_adapter()
    harness.start_worker()
    harness.platform.fail("dave.test", 2)
    await harness.service.submit(request("dave.test"))
    await wait_until(lambda: harness.collector.results(), what="result")
    assert harness.collector.results()[0].outcome.ok
    missing = request("missing.test")
    await harness.service.submit(missing)
    await wait_until(lambda: harness.collector.results(missing.request_id), what="error")
    error = harness.collector.results(missing.request_id)[0].outcome.error
    assert error is not None and error.code == "not_found"


async def test_malformed_queue_entries_go_to_dead_letters(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(harness.redis)
    await store.ensure_group(store.stream, WORKER_GROUP)
    await harness.redis.xadd(store.stream, {b"job": b"\xff\xfenot json"})
    await harness.redis.xadd(store.stream, {b"job": b'{"v": 99, "job_id": "x"}'})
    await harness.redis.xadd(store.stream, {b"other": b"1"})
    await harness.start_adapter()
    with caplog.at_level(logging.ERROR, logger="followaudit.worker"):
        harness.start_worker()
        await wait_until(lambda: harness.redis.xlen(store.dead), what="dead letters")
        await wait_until(lambda: _eq(harness.redis.xlen(store.dead), 3), what="three dead letters")
        # the worker keeps working
        await harness.service.submit(request("erin.test"))
        await wait_until(lambda: harness.collector.results(), what="result after poison")
    dead = await harness.redis.xrange(store.dead)
    reasons = sorted(fields[b"dead_reason"].decode() for _id, fields in dead)
    assert any("not JSON" in r for r in reasons) and any("version" in r for r in reasons)
    assert sum("dead letters" in r.getMessage() for r in caplog.records) == 3
    assert await harness.redis.xlen(store.stream) == 0


async def _eq(value: Any, expected: int) -> bool:
    return bool(await value == expected)


async def test_stalled_audit_is_taken_over_from_its_checkpoint(harness: Harness) -> None:
    """A worker took the entry, saved a checkpoint after the first page and died: a live worker
    takes it over once it has been idle for the stall period, resumes from the checkpoint, and
    answers once."""
    await harness.start_adapter()
    store = Store(harness.redis)
    await store.ensure_group(store.stream, WORKER_GROUP)
    await harness.service.submit(request("frank.test"))
    loop = asyncio.get_running_loop()
    died_at = loop.time()  # the entry's idle time starts when "dead" reads it, just after
    ((_, entries),) = await harness.redis.xreadgroup(WORKER_GROUP, "dead", {store.stream: ">"})
    _msg_id, fields = entries[0]
    job = AuditJob.from_json(fields[b"job"])
    assert await store.start(job.job_id, "dead", harness.clock()) == ("run", 1)
    await RedisCheckpoint(store, job.job_id, "dead", 600).save({"cursor": 100, "read": 100})
    live = harness.start_worker(name="live")
    await wait_until(lambda: harness.collector.results(), what="taken-over result")
    waited = loop.time() - died_at
    stall = harness.settings.worker.stall_seconds
    assert stall <= waited < 2 * stall + 0.5  # taken over within a further stall period
    assert live.metrics.takeovers._value.get() == 1
    assert ("frank.test", 0) not in harness.platform.requests  # resumed, not restarted
    assert harness.platform.requests.count(("frank.test", 100)) == 1
    (result,) = harness.collector.results()
    assert result.outcome.report.audit.sample.size == 250
    await wait_until(lambda: not live._tasks, what="live worker idle")
    info = await store.job_info(job.job_id)
    assert info["state"] == "done" and info["attempts"] == "2"
    assert len(harness.collector.results()) == 1


async def test_heartbeat_keeps_a_slow_audit_from_being_taken_over(harness: Harness) -> None:
    """The audit waits on one page for three stall periods: its worker's heartbeat keeps it,
    so the second live worker never takes it over and the platform sees one fetch."""
    await harness.start_adapter()
    harness.platform.hold("slow.test", 100)
    first = harness.start_worker(name="first")
    await harness.service.submit(request("slow.test"))
    await harness.platform.wait_request("slow.test", 100)
    second = harness.start_worker(name="second")
    stall = harness.settings.worker.stall_seconds
    # hold the page for three stall periods while both workers are alive
    loop = asyncio.get_running_loop()
    released = asyncio.Event()
    loop.call_later(3 * stall, lambda: (harness.platform.release("slow.test", 100), released.set()))
    await released.wait()
    await wait_until(lambda: harness.collector.results(), what="result")
    assert harness.platform.requests.count(("slow.test", 100)) == 1
    assert second.metrics.takeovers._value.get() == 0
    assert first.audits_started == 1 and second.audits_started == 0


async def test_graceful_shutdown_hands_a_running_audit_back(harness: Harness) -> None:
    await harness.start_adapter()
    harness.platform.hold("hand.test", 100)
    stop_first = asyncio.Event()
    runner = PlatformRunner(harness.platform.url)
    harness.runners.append(runner)
    first = Worker(harness.redis, harness.settings, runner, clock=harness.clock, name="first")
    first_task = asyncio.create_task(first.run(stop_first))
    await harness.service.submit(request("hand.test"))
    await harness.platform.wait_request("hand.test", 100)
    stop_first.set()  # grace is 0.5 s: the held page outlives it, so the audit is handed back
    await first_task
    harness.platform.release("hand.test", 100)
    second = harness.start_worker(name="second")
    await wait_until(lambda: harness.collector.results(), what="result from the second worker")
    assert second.metrics.takeovers._value.get() == 1
    assert harness.platform.fetches("hand.test") == 1  # resumed from the checkpoint
    assert len(harness.collector.results()) == 1


async def test_submit_rides_out_a_redis_outage(harness: Harness, redis_server: Any) -> None:
    await harness.start_adapter()
    harness.start_worker()
    await harness.service.submit(request("before.test"))
    await wait_until(lambda: harness.collector.results(), what="first answer")
    redis_server.stop()
    loop = asyncio.get_running_loop()
    loop.call_later(1.5, redis_server.start)  # an outage of 1.5 s
    sub = await harness.service.submit(request("during.test"))
    assert sub.status == "queued"
    await wait_until(lambda: len(harness.collector.results()) == 2, what="answer after outage")


async def test_an_audit_that_never_ends_is_answered_with_a_timeout(harness: Harness) -> None:
    harness.settings.worker.audit_timeout_seconds = 0.3
    await harness.start_adapter()
    harness.platform.hold("stuck.test", 0)
    harness.start_worker()
    await harness.service.submit(request("stuck.test"))
    await wait_until(lambda: harness.collector.results(), what="timeout answer")
    error = harness.collector.results()[0].outcome.error
    assert error is not None and error.code == "timeout" and "too long" in error.message


async def test_an_audit_that_keeps_killing_workers_is_failed_and_dead_lettered(
    harness: Harness,
) -> None:
    harness.settings.worker.max_deliveries = 1
    await harness.start_adapter()
    harness.platform.hold("poison.test", 0)
    ghost_runner = PlatformRunner(harness.platform.url)
    harness.runners.append(ghost_runner)
    ghost = Worker(harness.redis, harness.settings, ghost_runner, clock=harness.clock, name="g")
    ghost_task = asyncio.create_task(ghost.run(asyncio.Event()))
    await harness.service.submit(request("poison.test"))
    await harness.platform.wait_request("poison.test", 0)
    ghost_task.cancel()  # the first worker dies on it
    with contextlib.suppress(asyncio.CancelledError):
        await ghost_task
    harness.start_worker(name="live")
    await wait_until(lambda: harness.collector.results(), what="failure answer")
    error = harness.collector.results()[0].outcome.error
    assert error is not None and error.code == "failed"
    store = Store(harness.redis)
    (dead,) = await harness.redis.xrange(store.dead)
    assert b"gave up" in dead[1][b"dead_reason"]
    assert harness.platform.fetches("poison.test") == 1


async def test_a_running_audit_is_joined_only_when_its_sample_is_large_enough(
    harness: Harness,
) -> None:
    harness.platform.hold("size.test", 0)
    await harness.start_adapter()
    harness.start_worker()
    big = await harness.service.submit(request("size.test", sample=200))
    smaller = await harness.service.submit(request("size.test", user="u2", sample=100))
    larger = await harness.service.submit(request("size.test", user="u3", sample=250))
    assert (big.status, smaller.status, larger.status) == ("queued", "coalesced", "queued")
    assert smaller.job_id == big.job_id and larger.job_id != big.job_id
    after = await harness.service.submit(request("size.test", user="u4", sample=250))
    assert after.status == "coalesced" and after.job_id == larger.job_id
    harness.platform.release("size.test", 0)
    await wait_until(lambda: len(harness.collector.results()) == 4, what="four answers")
    sizes = sorted(d.outcome.report.audit.sample.size for d in harness.collector.results())
    assert sizes == [200, 200, 250, 250]
    assert harness.platform.fetches("size.test") == 2
    # both finished: nothing is in flight for the handle any more
    assert await harness.redis.get("fa:inflight:bluesky:size.test") is None


async def test_burst_mode_returns_once_the_queue_is_drained(harness: Harness) -> None:
    await harness.start_adapter()
    for name in ("b1.test", "b2.test"):
        await harness.service.submit(request(name))
    runner = PlatformRunner(harness.platform.url)
    harness.runners.append(runner)
    worker = Worker(harness.redis, harness.settings, runner, clock=harness.clock)
    await asyncio.wait_for(worker.run(burst=True), 30)
    assert worker.audits_started == 2
    await wait_until(lambda: len(harness.collector.results()) == 2, what="two answers")
