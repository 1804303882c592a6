"""Limits in Redis: per user and per chat rates, in-flight cap, refusals with a retry time."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.pipeline.resilience import connect
from bot.pipeline.service import AuditService
from tests.helpers import FakeClock, wait_until
from tests.pipeline_fakes import request


def _service(redis: Any, make_settings: Any, clock: FakeClock, **limits: Any) -> AuditService:
    base = {"user_requests": 3, "user_window_seconds": 60, "chat_requests": 5,
            "chat_window_seconds": 60, "user_in_flight": 10}  # fmt: skip
    return AuditService.from_settings(redis, make_settings(limits={**base, **limits}), clock=clock)


async def test_user_rate_refuses_with_retry_time_across_clients(
    redis: Any, redis_url: str, make_settings: Any, clock: FakeClock
) -> None:
    other = connect(redis_url)  # a second process's client: limits live in Redis
    try:
        a = _service(redis, make_settings, clock)
        b = _service(other, make_settings, clock)
        assert (await a.submit(request("h1.test"))).status == "queued"
        clock.advance(10)
        assert (await b.submit(request("h2.test"))).status == "queued"
        assert (await a.submit(request("h3.test"))).status == "queued"
        refused = await b.submit(request("h4.test"))
        assert refused.status == "refused" and refused.refusal is not None
        assert refused.refusal.code == "user_rate"
        assert refused.refusal.retry_after == 50  # the oldest request leaves the window then
        assert "Try again in 50 s" in refused.describe()
        assert (await b.submit(request("h4.test", user="someone-else"))).status == "queued"
        clock.advance(50)
        assert (await a.submit(request("h4.test"))).status in ("queued", "coalesced")
    finally:
        await other.aclose()


async def test_chat_rate_counts_every_user_in_the_chat(
    redis: Any, make_settings: Any, clock: FakeClock
) -> None:
    service = _service(redis, make_settings, clock, chat_requests=2)
    assert (await service.submit(request("a.test", user="x", chat="g"))).status == "queued"
    assert (await service.submit(request("b.test", user="y", chat="g"))).status == "queued"
    refused = await service.submit(request("c.test", user="z", chat="g"))
    assert refused.status == "refused" and refused.refusal.code == "chat_rate"  # type: ignore[union-attr]
    assert (await service.submit(request("c.test", user="z", chat="h"))).status == "queued"


async def test_in_flight_cap_per_user_and_trusted_console(
    redis: Any, make_settings: Any, clock: FakeClock
) -> None:
    service = _service(redis, make_settings, clock, user_requests=100, user_in_flight=2)
    assert (await service.submit(request("a.test"))).status == "queued"
    assert (await service.submit(request("b.test"))).status == "queued"
    refused = await service.submit(request("c.test"))
    assert refused.status == "refused" and refused.refusal.code == "in_flight"  # type: ignore[union-attr]
    assert "wait for one to finish" in refused.describe()
    assert (await service.submit(request("c.test"), trusted=True)).status == "queued"


async def test_submit_is_idempotent_by_request_id(
    redis: Any, make_settings: Any, clock: FakeClock
) -> None:
    service = _service(redis, make_settings, clock)
    req = request("same.test")
    first = await service.submit(req)
    again = await service.submit(req)  # a retry after a lost reply
    assert (first.status, first.job_id, again.status, again.job_id) == (
        "queued", first.job_id, "queued", first.job_id,
    )  # fmt: skip
    assert await redis.xlen("fa:audits") == 1
    assert await service.queue_depth() == 1


async def test_platform_request_budget_is_shared_by_every_client(
    redis: Any, redis_url: str, clock: FakeClock
) -> None:
    from bot.pipeline.budget import RedisBudgets
    from bot.pipeline.metrics import Metrics
    from bot.pipeline.store import Store
    from bot.settings import PlatformBudget

    budget = {"bluesky": PlatformBudget(requests=3, window_seconds=60, concurrency=10)}
    other = connect(redis_url)
    try:
        a = RedisBudgets(Store(redis), budget, clock=clock)
        metrics = Metrics()
        b = RedisBudgets(Store(other), budget, clock=clock, metrics=metrics)
        for budgets in (a, b, a):
            async with budgets.request("bluesky"):
                pass
        fourth_done = asyncio.Event()

        async def fourth() -> None:
            async with b.request("bluesky"):
                fourth_done.set()

        task = asyncio.create_task(fourth())
        waits = metrics.budget_waits.labels("bluesky")
        await wait_until(lambda: waits._value.get() == 1, what="the fourth request waiting")
        assert await redis.zcard("fa:budget:bluesky:rate") == 3
        assert not fourth_done.is_set()  # the window is full until the first request leaves it
        clock.advance(60.5)
        await asyncio.wait_for(task, 5)
        assert fourth_done.is_set()
        async with a.request("unbudgeted-platform"):  # no budget configured: no wait
            pass
    finally:
        await other.aclose()


async def test_a_budget_kept_per_host_bounds_the_hosts_in_flight(
    redis: Any, clock: FakeClock
) -> None:
    """Mastodon-style budgets: each host has its own concurrency, a host already in flight takes
    no more of the hosts bound, and a new host waits only while the bound is full."""
    from bot.pipeline.budget import RedisBudgets
    from bot.pipeline.metrics import Metrics
    from bot.pipeline.store import Store
    from bot.settings import PlatformBudget

    budget = {"mastodon": PlatformBudget(requests=100, window_seconds=60, concurrency=2, hosts=2)}
    metrics = Metrics()
    budgets = RedisBudgets(Store(redis), budget, clock=clock, metrics=metrics)
    waits = metrics.budget_waits.labels("mastodon")
    entered: list[str] = []
    leave = {host: asyncio.Event() for host in ("a.social", "b.social", "c.social")}

    async def hold(host: str) -> None:
        async with budgets.request("mastodon", host):
            entered.append(host)
            await leave[host].wait()

    async def in_flight() -> set[str]:
        return {h.decode() for h in await redis.zrange("fa:budget:mastodon:hosts", 0, -1)}

    tasks = []
    for host in ("a.social", "b.social", "a.social"):  # a's second: a is in flight already
        tasks.append(asyncio.create_task(hold(host)))
        await wait_until(lambda: len(entered) == len(tasks), what=f"{host} let in")
    assert await redis.zcard("fa:budget:mastodon:a.social:slots") == 2
    assert await in_flight() == {"a.social", "b.social"}
    tasks.append(asyncio.create_task(hold("c.social")))
    await wait_until(lambda: waits._value.get() == 1, what="a third host waiting")
    assert entered == ["a.social", "b.social", "a.social"]
    leave["b.social"].set()  # b's last request ends: b leaves the hosts in flight
    await wait_until(lambda: entered[-1:] == ["c.social"], what="the third host let in")
    assert await in_flight() == {"a.social", "c.social"}
    for event in leave.values():
        event.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert await in_flight() == set()


async def test_sample_is_kept_within_the_configured_maximum(
    redis: Any, make_settings: Any, clock: FakeClock
) -> None:
    service = AuditService.from_settings(redis, make_settings(sample={"max": 300}), clock=clock)
    sub = await service.submit(request("big.test", sample=100_000))
    assert sub.status == "queued" and sub.request.sample == 300
    joined = await service.submit(request("big.test", user="u2", sample=300))
    assert joined.status == "coalesced" and joined.job_id == sub.job_id


async def test_an_upload_is_refused_before_its_download_and_a_failed_one_frees_its_slot(
    redis: Any, make_settings: Any, clock: FakeClock
) -> None:
    from bot.chat.uploads import UploadError
    from bot.pipeline.messages import ReplyTo

    service = _service(redis, make_settings, clock, user_requests=100, user_in_flight=1)
    reply, downloads = ReplyTo("test", {"chat": 1}), []

    async def download() -> bytes:
        downloads.append(1)
        return b"handle\nalice\n"

    async def broken() -> bytes:
        raise UploadError("That file is empty.")

    with pytest.raises(UploadError):
        await service.submit_upload(broken, user="u", chat="c", reply=reply, size=10)
    first = await service.submit_upload(download, user="u", chat="c", reply=reply, size=13)
    second = await service.submit_upload(download, user="u", chat="c", reply=reply, size=13)
    assert first.status == "queued" and second.status == "refused"
    assert second.refusal is not None and second.refusal.code == "in_flight"
    assert len(downloads) == 1


async def test_the_bytes_of_uploads_held_are_bounded_and_freed(redis: Any) -> None:
    from bot.pipeline.uploads import UploadStore

    store = UploadStore(redis, "t:", ttl_seconds=1, max_held_bytes=2000)
    kept = await store.put(b"x" * 1500)
    assert kept is not None and await store.put(b"y" * 1500) is None
    assert not await store.has_room(1500) and await store.has_room(500)
    await store.delete(kept)
    await store.delete(kept)  # idempotent: the total is not freed twice
    assert await store.put(b"y" * 1500) is not None and await store.put(b"z" * 500) is not None
    assert await store.put(b"w") is None
    # a file that expires unanswered (its TTL) leaves the total too
    await wait_until(lambda: store.has_room(2000), within=5, what="expired uploads freed")
