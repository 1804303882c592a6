"""Bluesky fetch speed against a local fake AppView that adds a fixed latency to every request.

    python -m benchmarks.bench_sources [--followers 1000] [--latency 0.05] [--runs 3]

The critical path is what no amount of overlap can hide: the sequential getFollowers pages (the
cursor chain) plus the last page's getProfiles batch. Resolving the handle and reading the
profile go out with the first page. The fake runs in its own process (a real AppView is another
machine), so its JSON encoding does not steal time from the client's loop. Target: ratio <= 1.3.
Prints, per run, elapsed seconds, the critical path, the ratio and the requests per audit.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.settings import Settings
from bot.sources.bluesky import BlueskySource, pages_needed
from bot.sources.handles import Handle
from tests.fakes.bluesky import FakeBluesky


def _serve(followers: int, latency: float, conn: Connection) -> None:
    """The fake AppView in its own process, as a real one would be on its own machine."""

    async def serve() -> None:
        async with FakeBluesky(latency=latency) as fake:
            did = fake.add_account("subject.test")
            fake.add_followers(did, followers)
            conn.send(fake.base_url)
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(serve())


async def run(base_url: str, followers: int, latency: float, runs: int) -> list[float]:
    ratios = []
    settings = Settings(_env_file=None, bluesky={"base_url": base_url})
    critical = (pages_needed(followers) + 1) * latency
    async with aiohttp.ClientSession() as session:
        source = BlueskySource(session, settings)
        for i in range(runs):
            start = time.perf_counter()
            result = await source.fetch(Handle("bluesky", "subject.test"), sample=followers)
            elapsed = time.perf_counter() - start
            assert len(result.followers) == followers
            ratio = elapsed / critical
            ratios.append(ratio)
            print(
                f"run {i + 1}: {followers} followers in {elapsed:.3f} s; "
                f"critical path {critical:.3f} s "
                f"({pages_needed(followers)} pages + 1 profile batch at {latency * 1000:.0f} ms); "
                f"ratio {ratio:.2f}; requests {result.requests}"
            )
    return ratios


async def _in_process(followers: int, latency: float, runs: int) -> list[float]:
    async with FakeBluesky(latency=latency) as fake:
        did = fake.add_account("subject.test")
        fake.add_followers(did, followers)
        return await run(fake.base_url, followers, latency, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the fake in this process's event loop (its CPU then counts against the client)",
    )
    args = parser.parse_args()
    if args.in_process:
        ratios = asyncio.run(_in_process(args.followers, args.latency, args.runs))
        verdict = "within" if statistics.median(ratios) <= 1.3 else "OVER"
        print(f"median ratio {statistics.median(ratios):.2f} ({verdict} the 1.3x target)")
        return
    parent, child = multiprocessing.get_context("fork").Pipe()
    server = multiprocessing.get_context("fork").Process(
        target=_serve, args=(args.followers, args.latency, child), daemon=True
    )
    server.start()
    try:
        base_url = parent.recv()
        ratios = asyncio.run(run(base_url, args.followers, args.latency, args.runs))
    finally:
        parent.send("stop")
        server.join(timeout=5)
    verdict = "within" if statistics.median(ratios) <= 1.3 else "OVER"
    print(f"median ratio {statistics.median(ratios):.2f} ({verdict} the 1.3x target)")


if __name__ == "__main__":
    main()
