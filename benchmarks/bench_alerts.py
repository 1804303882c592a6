"""Benchmark of the alerts (issue 8), printed: a private redis-server, a fake Bluesky in this
process (1,000 followers an account, 100 a page), ``--watches`` watched accounts in console chats.

Prints: the baseline (``/watch``) time per account; one ``run-due`` pass over every watch with a
300-fake dump on ``--dumped`` of them (time, alerts, time per re-audit, Redis commands per
re-audit, platform requests per re-audit); a second pass with nothing new; Redis memory per watch.

    .venv/bin/python -m benchmarks.bench_alerts [--watches 20] [--dumped 5] [--charts]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from benchmarks._support import private_redis  # noqa: E402
from bot.alerts.app import build_alerts  # noqa: E402
from bot.alerts.auditor import SourceAuditor  # noqa: E402
from bot.alerts.model import ChatRef  # noqa: E402
from bot.alerts.service import Caller  # noqa: E402
from bot.audit.usecase import AuditUseCase  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.sources import HTTP_HEADERS  # noqa: E402
from tests.fakes.bluesky import FakeBluesky  # noqa: E402
from tests.test_alerts_e2e import add_dump, add_genuine  # noqa: E402


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def calls(redis: Any) -> dict[str, int]:
    info = await redis.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()
            if isinstance(v, dict)}  # fmt: skip


def per(after: dict[str, int], before: dict[str, int], n: int) -> str:
    """Commands per re-audit (commands inside Lua scripts count too)."""
    diff = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
    return f"{sum(diff.values()) / n:.1f}"


async def main(ns: argparse.Namespace) -> None:
    clock = Clock()
    async with private_redis() as (server, redis), FakeBluesky() as fake:
        rng = random.Random(1)
        dids = []
        for i in range(ns.watches):
            did = fake.add_account(f"acct{i}.bsky.social")
            add_genuine(fake, did, 1000, rng)
            dids.append(did)
        # A roomy Bluesky budget: this measures the alerts, not the platform's rate limit
        # (at the default 3,000 requests / 5 min, halved for re-audits, a pass of many
        # watches waits for the budget, as it should).
        budget = {"requests": ns.budget, "window_seconds": 300, "concurrency": 8}
        settings = Settings(_env_file=None, redis_url=server.url,  # type: ignore[call-arg]
                            bluesky={"base_url": fake.base_url},
                            limits={"platforms": {"bluesky": budget}})  # fmt: skip
        from scoring.model import load_model

        # The alerts as the composition root (bot.app) builds them, on one session and model.
        async with aiohttp.ClientSession(headers=HTTP_HEADERS) as session:
            model = load_model(None)
            # --no-budget: the alerts' own Redis traffic, without the budget scripts
            auditor: SourceAuditor | None = None
            if ns.no_budget:
                auditor = SourceAuditor(AuditUseCase(session, settings, model))
            rt = build_alerts(settings, redis, session, model, clock=clock, out=io.StringIO(),
                              charts=ns.charts, auditor=auditor)  # fmt: skip
            admin = Caller("bench", is_admin=True)
            started = time.perf_counter()
            for i in range(ns.watches):
                chat = ChatRef("console", f"chat{i % 5}")
                reply = await rt.service.watch(chat, admin, f"acct{i}.bsky.social")
                assert reply.ok, reply.text()
            baseline = (time.perf_counter() - started) / ns.watches
            print(f"baseline (/watch) per account: {1000 * baseline:.0f} ms")
            for did in dids[: ns.dumped]:
                add_dump(fake, did, 300, tag=f"b{did[-6:]}")
            clock.now += settings.alerts.interval_seconds + 1
            for label in ("dump pass", "quiet pass"):
                before, requests = await calls(redis), fake.total_requests
                started = time.perf_counter()
                report = await rt.runner.run_due()
                took = time.perf_counter() - started
                n = max(1, report.audited)
                print(
                    f"{label}: {report.audited} re-audits in {took:.2f} s "
                    f"({1000 * took / n:.0f} ms each), alerts {report.alerts}, digests "
                    f"{report.digests}; Redis commands per re-audit "
                    f"{per(await calls(redis), before, n)}; platform requests per "
                    f"re-audit {(fake.total_requests - requests) / n:.1f}"
                )
                clock.now += settings.alerts.interval_seconds + settings.alerts.cooldown_seconds
            used = 0
            async for key in redis.scan_iter(match=b"fa:alerts:*"):
                used += int(await redis.memory_usage(key) or 0)
            print(f"Redis memory per watch: {used / ns.watches / 1024:.1f} KiB "
                  f"(history of {settings.alerts.history} audits max)")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watches", type=int, default=20)
    parser.add_argument("--dumped", type=int, default=5)
    parser.add_argument("--budget", type=int, default=1_000_000, help="Bluesky requests/5 min")
    parser.add_argument("--no-budget", action="store_true", help="re-audit without budgets")
    parser.add_argument("--charts", action="store_true", help="draw charts (matplotlib)")
    asyncio.run(main(parser.parse_args()))
