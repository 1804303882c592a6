"""Telegram bot latency, printed: from the ``/audit`` update to the bot's first reply, to the first
answer that says queued / joined, to the final report edited into that reply, and to the chart.

Same fakes as the end-to-end tests: the real python-telegram-bot Application long-polls the fake
Bot API, the real pipeline runs on a private redis-server with an in-process worker, and the real
Bluesky source reads a fake AppView (300 followers an account). First one user at a time over
distinct accounts, then a crowd of users at once over a few accounts (coalesced audits).

    .venv/bin/python -m benchmarks.bench_telegram [--audits 10] [--crowd 30] [--accounts 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from benchmarks._support import private_redis, show  # noqa: E402
from bot.app import open_app  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fakes.bluesky import FakeBluesky  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.test_telegram_bot import World, telegram_settings  # noqa: E402

FOLLOWERS = 300


class Timer:
    """Times of one user's audit, read from what the fake Bot API recorded."""

    def __init__(self, tg: FakeTelegram, user: dict[str, Any]) -> None:
        self.tg, self.user = tg, user
        self.chat = tg.private_chat(user)
        self.t0 = 0.0

    def send(self, text: str) -> None:
        self.t0 = time.monotonic()
        self.tg.inject_command(self.chat, self.user, text)

    async def measure(self) -> tuple[float, float, float, float]:
        tg, chat_id = self.tg, self.user["id"]
        first = await tg.next_sent(chat_id, methods={"sendMessage"}, deadline=120)

        def answered() -> bool:
            return any(
                s.message_id == first.message_id and ("queued" in s.text or "joined" in s.text
                                                      or "Grade" in s.text)
                for s in tg.sent_to(chat_id) if s.method == "editMessageText"
            )  # fmt: skip

        await tg.wait_for(answered, 120)
        answer = next(
            s.at for s in tg.sent_to(chat_id)
            if s.method == "editMessageText" and s.message_id == first.message_id
        )  # fmt: skip

        def reported() -> bool:
            return "Grade" in str(tg.message(chat_id, first.message_id).get("text", ""))

        await tg.wait_for(reported, 120)
        report = next(
            s.at for s in tg.sent_to(chat_id)
            if s.method == "editMessageText" and s.message_id == first.message_id
            and "Grade" in s.text
        )  # fmt: skip
        photo = await tg.next_sent(chat_id, methods={"sendPhoto"}, deadline=120)
        return first.at - self.t0, answer - self.t0, report - self.t0, photo.at - self.t0


async def main(ns: argparse.Namespace) -> None:
    os.environ["PTB_TIMEDELTA"] = "1"
    async with private_redis() as (server, redis), FakeTelegram() as tg, FakeBluesky() as bsky:
        for i in range(max(ns.audits, ns.accounts)):
            did = bsky.add_account(f"h{i}.bsky.social")
            bsky.add_followers(did, FOLLOWERS, prefix=f"a{i}x")
        settings: Settings = telegram_settings(
            lambda **kw: Settings(_env_file=None, redis_url=server.url, **kw),  # type: ignore[call-arg]
            tg, bsky.base_url,
        )  # fmt: skip
        settings.telegram.progress_edit_seconds = 1.0
        settings.worker.progress_interval_seconds = 0.5
        settings.limits.user_requests = 1000
        settings.limits.chat_requests = 1000
        # final before the app is built: its audit service takes the limits from them
        async with open_app(settings) as app:
            await measure(World(tg, bsky, redis, app), ns)


async def measure(world: World, ns: argparse.Namespace) -> None:
    """Start the worker and the bot of ``world``, print the figures, stop them."""
    tg, settings = world.tg, world.settings
    await world.start_worker()
    await world.start_bot()
    try:
        # warm up: the model, the chart, the HTTP sessions
        warm = Timer(tg, tg.user(999, "Warm"))
        warm.send("/audit bsky:h0.bsky.social fresh")
        await warm.measure()

        print(f"followaudit Telegram bot, {FOLLOWERS} followers an account, in-process "
              f"worker (concurrency {settings.worker.concurrency})")  # fmt: skip
        rows: list[tuple[float, float, float, float]] = []
        for i in range(ns.audits):
            timer = Timer(tg, tg.user(1000 + i, f"U{i}"))
            timer.send(f"/audit bsky:h{i}.bsky.social fresh")
            rows.append(await timer.measure())
        print(f"one user at a time, {ns.audits} audits of distinct accounts:")
        for index, name in enumerate(
            ("update -> first reply", "update -> queued answer", "update -> final report",
             "update -> chart photo")
        ):  # fmt: skip
            show(name, [r[index] for r in rows])

        timers = [Timer(tg, tg.user(5000 + i, f"C{i}")) for i in range(ns.crowd)]
        started = time.monotonic()
        for i, timer in enumerate(timers):
            timer.send(f"/audit bsky:h{i % ns.accounts}.bsky.social fresh"
                       if i < ns.accounts else
                       f"/audit bsky:h{i % ns.accounts}.bsky.social")  # fmt: skip
        crowd = await asyncio.gather(*(t.measure() for t in timers))
        wall = time.monotonic() - started
        print(f"a crowd: {ns.crowd} users at once over {ns.accounts} accounts "
              f"({wall:.1f} s wall, {tg.flood_refusals} flood refusals):")  # fmt: skip
        for index, name in enumerate(
            ("update -> first reply", "update -> queued answer", "update -> final report")
        ):
            show(name, [r[index] for r in crowd])
        edits = len(tg.calls_to("editMessageText"))
        print(f"  Bot API calls: {len(tg.calls)}, editMessageText {edits}")
    finally:
        await world.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audits", type=int, default=10)
    parser.add_argument("--crowd", type=int, default=30)
    parser.add_argument("--accounts", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
