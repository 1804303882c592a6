"""The real runner (sources + scoring) behind the pipeline, against the fake Bluesky AppView."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.audit.runner import PlatformAuditRunner, error_code
from bot.pipeline.budget import RedisBudgets
from bot.pipeline.delivery import DeliveryConsumer
from bot.pipeline.messages import ReplyTo
from bot.pipeline.service import AuditService
from bot.pipeline.store import Store
from bot.pipeline.worker import Worker
from bot.sources.errors import FollowersHidden
from scoring.audit import render_text
from tests.fakes.bluesky import FakeBluesky
from tests.helpers import REPO_ROOT, wait_until
from tests.pipeline_fakes import Collector, request


@pytest.fixture
async def bsky() -> AsyncIterator[FakeBluesky]:
    async with FakeBluesky() as fake:
        did = fake.add_account("alice.test")
        fake.add_followers(did, 250)
        yield fake  # type: ignore[misc]


def test_error_codes() -> None:
    assert error_code(FollowersHidden("x")) == "followers_hidden"


async def test_real_audit_through_the_pipeline(
    redis: Any, make_settings: Any, bsky: FakeBluesky
) -> None:
    settings = make_settings(bluesky={"base_url": bsky.base_url},
                             worker={"progress_interval_seconds": 0})  # fmt: skip
    service = AuditService.from_settings(redis, settings)
    budgets = RedisBudgets(Store(redis), settings.limits.platforms, clock=service.clock)
    runner = PlatformAuditRunner(settings, budgets)
    collector, stop = Collector(), asyncio.Event()
    consumer = DeliveryConsumer(redis, "test", collector, block=0.05)
    worker = Worker(redis, settings, runner)
    tasks = [asyncio.create_task(consumer.run(stop)), asyncio.create_task(worker.run(stop))]
    try:
        ok = request("alice.test", sample=200)
        missing = request("nobody.test", user="u2")
        await service.submit(ok)
        await service.submit(missing)
        await wait_until(lambda: len(collector.results()) == 2, within=60, what="two answers")
        (good,) = collector.results(ok.request_id)
        assert good.outcome.ok
        report = good.outcome.report
        assert report is not None and report.subject is not None
        assert report.subject.handle == "alice.test"
        assert report.audit.sample.size == 200 and report.audit.sample.order == "newest_first"
        assert render_text(report.audit).count("Grade ") == 1  # each chat renders at its edge
        sent = good.outcome.to_dict()
        assert "texts" not in sent  # data and the chart's bytes, no renderings
        png = base64.b64decode(sent["attachments"]["chart.png"])
        assert png.startswith(b"\x89PNG") and good.outcome.chart == png
        stages = [d.progress for d in collector.progress() if d.request.request_id == ok.request_id]
        assert stages[-1].stage == "scoring"
        assert any(p.stage == "fetching" and p.done == 200 for p in stages)
        (bad,) = collector.results(missing.request_id)
        assert bad.outcome.error is not None and bad.outcome.error.code == "not_found"
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await runner.aclose()


async def test_console_chat_with_the_real_runner(redis_url: str, bsky: FakeBluesky) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWAUDIT_")}
    env.update(FOLLOWAUDIT_REDIS_URL=redis_url, FOLLOWAUDIT_BLUESKY__BASE_URL=bsky.base_url,
               PYTHONPATH=str(REPO_ROOT))  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "chat", env=env, cwd=str(REPO_ROOT),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(
        proc.communicate(b"/audit @alice.test 100\n/audit bsky:alice.test 100\n/audit x y z\n"), 90
    )
    text = out.decode()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert text.count("report:") == 2
    assert text.count("Grade ") == 2  # once per report, never in progress lines
    progress = [line for line in text.splitlines() if "fetching" in line]
    assert progress and all("Grade" not in line for line in progress)


def _export(n: int) -> bytes:
    rows = [
        {"platform": "bluesky", "id": f"did:plc:{i:024d}", "handle": f"u{i}.test",
         "created_at": "2024-01-01T00:00:00Z", "followers_count": i % 40,
         "following_count": 100 + i, "posts_count": i % 7}
        for i in range(n)
    ]  # fmt: skip
    return "\n".join(json.dumps(r) for r in rows).encode()


async def test_uploaded_export_is_audited_and_then_forgotten(
    redis: Any, make_settings: Any
) -> None:
    settings = make_settings()
    service = AuditService.from_settings(redis, settings)
    budgets = RedisBudgets(Store(redis), settings.limits.platforms, clock=service.clock)
    runner = PlatformAuditRunner(settings, budgets, service.uploads)
    collector, stop = Collector(), asyncio.Event()
    consumer = DeliveryConsumer(redis, "test", collector, block=0.05)
    worker = Worker(redis, settings, runner)
    tasks = [asyncio.create_task(consumer.run(stop)), asyncio.create_task(worker.run(stop))]
    try:
        reply = ReplyTo("test", {"chat": 1})
        sub = await service.submit_upload(_export(120), user="u", chat="c", reply=reply,
                                          name="followers.jsonl", sample=100)  # fmt: skip
        assert sub.status == "queued"
        upload_id = sub.request.options["upload"]
        assert await service.uploads.get(upload_id) is not None
        gone = await service.submit_upload(b"", user="u", chat="c", reply=reply, name="empty")
        await wait_until(lambda: len(collector.results()) == 2, within=60, what="two answers")
        (good,) = collector.results(sub.request.request_id)
        assert good.outcome.ok and good.outcome.report.audit.sample.size == 100
        assert render_text(good.outcome.report.audit).count("Grade ") == 1
        (bad,) = collector.results(gone.request.request_id)
        assert bad.outcome.error is not None and bad.outcome.error.code == "bad_upload"
        assert await service.uploads.get(upload_id) is None  # deleted once answered
        again = await service.submit_upload(_export(120), user="u2", chat="c", reply=reply,
                                            name="followers.jsonl", sample=100)  # fmt: skip
        assert again.status == "queued"  # uploads are never cached or coalesced
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await runner.aclose()


async def test_a_poisoned_upload_is_answered_at_once_and_never_retried(
    redis: Any, make_settings: Any
) -> None:
    """An integer of 5,000 digits: the row is skipped, a file of nothing else is refused; the
    worker never treats either as a crash (no second attempt, no takeover)."""
    settings = make_settings(worker={"stall_seconds": 0.5, "max_deliveries": 2})
    service = AuditService.from_settings(redis, settings)
    runner = PlatformAuditRunner(settings, None, service.uploads)
    collector, stop = Collector(), asyncio.Event()
    consumer = DeliveryConsumer(redis, "test", collector, block=0.05)
    worker = Worker(redis, settings, runner)
    tasks = [asyncio.create_task(consumer.run(stop)), asyncio.create_task(worker.run(stop))]
    poison = b'{"platform": "bluesky", "id": "p", "followers_count": ' + b"9" * 5000 + b"}"
    try:
        reply = ReplyTo("test", {"chat": 1})
        mixed = await service.submit_upload(_export(40) + b"\n" + poison, user="u", chat="c",
                                            reply=reply, name="mixed.jsonl")  # fmt: skip
        only = await service.submit_upload(poison, user="u", chat="c", reply=reply, name="p.jsonl")
        await wait_until(lambda: len(collector.results()) == 2, within=30, what="two answers")
        (ok,) = collector.results(mixed.request.request_id)
        assert ok.outcome.ok and ok.outcome.report.skipped == 1
        (bad,) = collector.results(only.request.request_id)
        assert bad.outcome.error is not None and bad.outcome.error.code == "bad_upload"
        assert "line 1: followers_count" in bad.outcome.error.message
        assert worker.audits_started == 2  # one attempt each
        assert worker.metrics.takeovers._value.get() == 0
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await runner.aclose()


def test_the_default_runner_and_its_old_name_load_the_same_factory() -> None:
    from bot.audit.runner import build_runner
    from bot.pipeline.runner import load_runner_factory
    from bot.settings import WorkerSettings

    assert load_runner_factory(WorkerSettings().runner) is build_runner
    # ``bot.audit_runner`` before issue 17: a deployment that names it keeps working.
    assert load_runner_factory("bot.audit_runner:build_runner") is build_runner
