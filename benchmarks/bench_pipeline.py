"""Load benchmark of the audit pipeline (issue 5), printed.

500 audit requests from 200 users over 50 distinct handles, against a local fake platform that
adds 50 ms to every request (1,000 followers a handle, 100 a page), two `followaudit worker`
processes, a private redis-server. Prints: answers (each exactly once), p50/p99 time to answer,
platform requests, Redis commands per audit; then the queue overhead (submit to a worker starting
the audit) with an idle queue.

    .venv/bin/python -m benchmarks.bench_pipeline [--requests 500] [--users 200] [--handles 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent

from benchmarks._support import pct  # noqa: E402
from bot.infra.redis_server import RedisServer  # noqa: E402
from bot.pipeline.delivery import DeliveryConsumer  # noqa: E402
from bot.pipeline.messages import AuditRequest, Delivery, ReplyTo  # noqa: E402
from bot.pipeline.resilience import connect  # noqa: E402
from bot.pipeline.service import AuditService  # noqa: E402
from bot.settings import Settings  # noqa: E402


async def commands(redis: Any) -> dict[str, int]:
    info = await redis.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()
            if isinstance(v, dict)}  # fmt: skip


async def start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *args, env=env, cwd=str(ROOT), stdout=asyncio.subprocess.PIPE,
        stderr=None, start_new_session=True,
    )  # fmt: skip


async def main(ns: argparse.Namespace) -> None:
    server = RedisServer()
    server.start()
    procs: list[asyncio.subprocess.Process] = []
    try:
        platform = await start(sys.executable, "-m", "tests.pipeline_fakes",
                               str(ns.followers), str(ns.latency),
                               env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
        procs.append(platform)
        assert platform.stdout is not None
        url = (await platform.stdout.readline()).decode().strip()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWAUDIT_")}
        env.update(
            FOLLOWAUDIT_REDIS_URL=server.url, FOLLOWAUDIT_BLUESKY__BASE_URL=url,
            FOLLOWAUDIT_WORKER__RUNNER="tests.pipeline_fakes:build_runner",
            FOLLOWAUDIT_WORKER__CONCURRENCY=str(ns.concurrency),
            FOLLOWAUDIT_LIMITS__PLATFORMS=json.dumps({"bluesky": {
                "requests": 100_000, "window_seconds": 300,
                "concurrency": ns.platform_concurrency}}),
            PYTHONPATH=str(ROOT),
        )  # fmt: skip
        if ns.chaos:
            env["FOLLOWAUDIT_WORKER__STALL_SECONDS"] = "2"
        for _ in range(ns.workers):
            procs.append(await start(sys.executable, "-m", "bot.cli", "worker",
                                     "--log-level", "warning", env=env))  # fmt: skip
        redis = connect(server.url)
        settings = Settings(_env_file=None, redis_url=server.url)  # type: ignore[call-arg]
        service = AuditService.from_settings(redis, settings)
        answered: dict[str, float] = {}
        duplicates = 0
        done = asyncio.Event()
        expected = ns.requests

        async def on_delivery(d: Delivery) -> None:
            nonlocal duplicates
            if d.kind != "result":
                return
            if d.request.request_id in answered:
                duplicates += 1
            answered[d.request.request_id] = time.perf_counter()
            if len(answered) >= expected:
                done.set()

        sent: dict[str, float] = {}
        stop = asyncio.Event()
        consumer = DeliveryConsumer(redis, "bench", on_delivery, block=0.1)
        adapter = asyncio.create_task(consumer.run(stop))
        await consumer.ready.wait()
        # warm up: every worker process is up and has run an audit
        warm = [AuditRequest(user="bench:warm", chat="bench:warm", reply=ReplyTo("bench", {}),
                             platform="bluesky", handle=f"warm{i}.test", sample=1)
                for i in range(ns.workers * 2)]  # fmt: skip
        for req in warm:
            sent[req.request_id] = time.perf_counter()
            await service.submit(req, trusted=True)
        await _wait(lambda: all(r.request_id in answered for r in warm))
        answered.clear()
        sent.clear()

        rng = random.Random(5)
        handles = [f"acct{i}.test" for i in range(ns.handles)]
        statuses: dict[str, int] = {}
        before = await commands(redis)
        async with aiohttp.ClientSession() as http, http.get(f"{url}/stats") as r:
            warm_stats = await r.json()
        t0 = time.perf_counter()

        async def one(i: int) -> None:
            await asyncio.sleep(rng.random() * ns.spread)  # arrivals spread over the window
            user = f"user{rng.randrange(ns.users)}"
            req = AuditRequest(user=f"bench:{user}", chat=f"bench:{user}",
                               reply=ReplyTo("bench", {}), platform="bluesky",
                               handle=rng.choice(handles), sample=ns.followers)  # fmt: skip
            sent[req.request_id] = time.perf_counter()
            sub = await service.submit(req, trusted=True)
            statuses[sub.status] = statuses.get(sub.status, 0) + 1
            if sub.status == "cached":
                answered[sub.request.request_id] = time.perf_counter()
                if len(answered) >= expected:
                    done.set()

        async def chaos() -> None:
            # kill a worker (and everything it started) mid-load, start another; restart Redis
            await asyncio.sleep(ns.spread / 2)
            victim = procs[1]
            os.killpg(victim.pid, signal.SIGKILL)
            procs.append(await start(sys.executable, "-m", "bot.cli", "worker",
                                     "--log-level", "warning", env=env))  # fmt: skip
            await asyncio.sleep(ns.spread / 2)
            await asyncio.to_thread(server.restart)

        chaos_task = asyncio.create_task(chaos()) if ns.chaos else None
        await asyncio.gather(*(one(i) for i in range(ns.requests)))
        if chaos_task is not None:
            await chaos_task
        await asyncio.wait_for(done.wait(), 300)
        wall = time.perf_counter() - t0
        after = await commands(redis)
        by_command = {k: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)}
        used = sum(by_command.values())
        top = sorted(by_command.items(), key=lambda kv: -kv[1])[:8]
        async with aiohttp.ClientSession() as http, http.get(f"{url}/stats") as r:
            stats = await r.json()
        stats = {k: stats[k] - warm_stats[k] for k in ("requests", "audits")}
        latencies = [answered[r] - sent[r] for r in sent]
        print(f"load: {ns.requests} requests, {ns.users} users, {ns.handles} handles, "
              f"{ns.followers} followers each, platform latency {ns.latency * 1000:.0f} ms, "
              f"{ns.workers} workers x {ns.concurrency}, "
              f"platform concurrency budget {ns.platform_concurrency}")  # fmt: skip
        print(f"  answered {len(answered)}/{ns.requests} (duplicates: {duplicates}); "
              f"replies {json.dumps(statuses, sort_keys=True)}; wall {wall:.1f} s")  # fmt: skip
        print(
            f"  time to answer: p50 {pct(latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {pct(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
        )
        print(f"  platform: {stats['requests']} requests for {stats['audits']} audits "
              f"({stats['requests'] / max(1, stats['audits']):.1f} per audit, "
              f"{stats['requests'] / ns.requests:.2f} per user request)")  # fmt: skip
        if ns.chaos:
            print(
                "  chaos: a worker killed with SIGKILL at half the arrival window, a new one "
                "started; Redis restarted at its end (stall period 2 s)"
            )
        else:
            print(f"  redis: {used} commands, {used / max(1, stats['audits']):.0f} per audit, "
              f"{used / ns.requests:.1f} per user request")  # fmt: skip
            print(
                "  redis top commands per audit: "
                + ", ".join(f"{k} {n / max(1, stats['audits']):.0f}" for k, n in top)
            )

        # queue overhead with an idle queue: submit -> a worker's first platform request is an
        # upper bound; the worker's own measure is in its metrics. Here: time to the first
        # progress delivery minus nothing else queued.
        overheads: list[float] = []
        for i in range(ns.idle_samples):
            first_progress = asyncio.get_running_loop().create_future()

            async def on_progress(d: Delivery, fut: asyncio.Future[float] = first_progress) -> None:
                if d.kind == "progress" and not fut.done():
                    fut.set_result(time.perf_counter())

            consumer.handler = on_progress
            req = AuditRequest(user="bench:idle", chat="bench:idle", reply=ReplyTo("bench", {}),
                               platform="bluesky", handle=f"idle{i}.test", sample=1)  # fmt: skip
            t = time.perf_counter()
            await service.submit(req, trusted=True)
            overheads.append(await asyncio.wait_for(first_progress, 10) - t)
            await asyncio.sleep(0.12)  # let the one-page audit finish: the queue is idle again
        print(f"queue overhead, idle queue ({ns.idle_samples} submits; submit to the worker's "
              f"first progress message, which includes start, checkpoint load and one delivery "
              f"hop): p50 {pct(overheads, 0.5) * 1000:.1f} ms, "
              f"p99 {pct(overheads, 0.99) * 1000:.1f} ms")  # fmt: skip
        stop.set()
        await adapter
        await redis.aclose()
    finally:
        for p in procs:
            if p.returncode is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            await p.wait()
        server.close()


async def _wait(predicate: Any) -> None:
    deadline = time.monotonic() + 60
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("workers did not start")
        await asyncio.sleep(0.02)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--handles", type=int, default=50)
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--platform-concurrency",
        type=int,
        default=8,
        help="the shared Bluesky concurrency budget (settings default: 8)",
    )
    parser.add_argument(
        "--spread", type=float, default=2.0, help="seconds over which requests arrive"
    )
    parser.add_argument("--idle-samples", type=int, default=50)
    parser.add_argument(
        "--chaos", action="store_true", help="SIGKILL a worker and restart Redis during the load"
    )
    asyncio.run(main(parser.parse_args()))
