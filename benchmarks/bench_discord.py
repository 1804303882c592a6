"""Discord adapter latency: from INTERACTION_CREATE to the deferral, and to the final embed.

    python -m benchmarks.bench_discord [--audits 20] [--followers 300] [--sample 200]

The real bot (``bot.discord``) on the fake Discord gateway and REST API, the real pipeline with
one worker on a private redis-server, a fake Bluesky AppView (no added latency) and the packaged
scoring model, all on this machine. Fresh audits (each of a different account) and cached ones
(the same accounts again) are timed one at a time, then a crowd of fresh ones at once. Times are
measured at the fake Discord: when it dispatched the INTERACTION_CREATE and when it received the
callback or the webhook edit. Prints p50, p95 and max in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import private_redis
from bot.app import open_app
from bot.settings import Settings
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.discord_api import FakeDiscord
from tests.test_discord_bot import RUNNER, World


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"p50 {statistics.median(ordered) * 1000:7.1f}  p95 {p95 * 1000:7.1f}  "
        f"max {ordered[-1] * 1000:7.1f} ms  (n={len(ordered)})"
    )


async def _one(world: World, handle: str, sample: int, n: int) -> tuple[float, float]:
    started = time.monotonic()
    call = await world.discord.command(
        "audit", {"handle": handle, "sample": sample}, user=world.user(n), guild=world.guild
    )
    deferral = await world.discord.next_reply(call, deadline=30)
    _, final = await world.final(call, deadline=60)
    assert deferral.callback_type == 5 and final.embeds, "no report"
    return deferral.at - started, final.at - started


async def bench(audits: int, followers: int, sample: int) -> None:
    async with private_redis() as (server, redis), FakeBluesky() as bsky, FakeDiscord() as fake:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            redis_url=server.url,
            bluesky={"base_url": bsky.base_url},
            discord={"token": fake.token, "api_base": fake.api_base,
                     "gateway_url": fake.gateway_url, "guild_ready_timeout": 0.05},
            worker={"runner": RUNNER, "progress_interval_seconds": 0.5},
            limits={"user_requests": 10**6, "chat_requests": 10**6, "user_in_flight": 1000},
        )  # fmt: skip
        handles = []
        for i in range(2 * audits):
            handle = f"acct{i}.bsky.social"
            did = bsky.add_account(handle)
            bsky.add_followers(did, followers, prefix=f"a{i}f")
            handles.append(handle)
        async with open_app(settings) as app:
            world = World(redis, settings, fake, bsky, fake.add_guild("Bench"), app)
            world.start_worker()
            await world.start_bot()
            try:
                await _one(world, handles[0], sample, 0)  # warm-up: model load, first chart
                one_by_one = handles[1:audits]
                fresh = [await _one(world, h, sample, i) for i, h in enumerate(one_by_one, 1)]
                cached = [await _one(world, h, sample, i) for i, h in enumerate(one_by_one, 1)]
                crowd = await asyncio.gather(
                    *(_one(world, h, sample, i) for i, h in enumerate(handles[audits:], audits))
                )
            finally:
                await world.close()
    print(f"bench_discord: {followers} followers per account, sample {sample}, one worker")
    print(f"fresh  deferral      {_ms([d for d, _ in fresh])}")
    print(f"fresh  final embed   {_ms([f for _, f in fresh])}")
    print(f"cached deferral      {_ms([d for d, _ in cached])}")
    print(f"cached final embed   {_ms([f for _, f in cached])}")
    print(f"crowd  deferral      {_ms([d for d, _ in crowd])}  ({audits} at once)")
    print(f"crowd  final embed   {_ms([f for _, f in crowd])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audits", type=int, default=20)
    parser.add_argument("--followers", type=int, default=300)
    parser.add_argument("--sample", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(bench(max(2, args.audits), args.followers, args.sample))


if __name__ == "__main__":
    main()
