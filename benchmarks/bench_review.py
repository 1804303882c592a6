"""Review answer latency, printed (issue 18): from a button press (Fake / Genuine / Can't tell)
to the next account shown, on the fake Telegram Bot API and the fake Discord gateway and REST
API. Target: p99 under 100 ms.

Same fakes as the end-to-end tests: the real python-telegram-bot Application long-polls the fake
Bot API, the real discord.py client talks to the fake gateway; the real pipeline audits one
Bluesky account (300 followers, fake AppView) on a private redis-server; then reviewers label
drawn followers one press at a time. On Telegram, two reviewers named in the settings press in
their private chats; then a group admin asks in a group, gets the card in a private chat and
presses there (the group's admin list asked once a minute with ``getChatMember``). On Discord, a
named reviewer presses on an ephemeral card.

    .venv/bin/python -m benchmarks.bench_review [--presses 200] [--group-presses 100]
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
sys.path.insert(0, str(ROOT))

from benchmarks._support import private_redis  # noqa: E402
from benchmarks._support import show as _show  # noqa: E402
from bot.app import open_app  # noqa: E402
from bot.infra.redis_server import RedisServer  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fakes.bluesky import FakeBluesky  # noqa: E402
from tests.fakes.discord_api import FakeDiscord  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402
from tests.test_telegram_bot import World, telegram_settings  # noqa: E402

FOLLOWERS = 300
HANDLE = "bsky:subject.bsky.social"
TARGET_MS = 100.0


def show(name: str, values: list[float]) -> None:
    _show(name, values, width=52, target_ms=TARGET_MS)


def review_settings(base: Settings, adapter: str, *user_ids: int) -> Settings:
    """Reviews with named reviewers and a rate limit the benchmark never meets."""
    review = base.review.model_copy(
        update={"reviewers": {adapter: [str(u) for u in user_ids]}, "rate_labels": 1_000_000}
    )
    return base.model_copy(update={"review": review})


# ----------------------------------------------------------------------------- Telegram
async def telegram_presses(
    tg: FakeTelegram, asked_in: dict[str, Any], user: dict[str, Any], n: int
) -> list[float]:
    """``/review HANDLE 100`` in ``asked_in``, then ``n`` presses on the card (which a group
    sends to the user's private chat); each from the press to the edited card."""
    chat = tg.private_chat(user)
    chat_id = int(chat["id"])
    tg.inject_command(asked_in, user, f"/review {HANDLE} 100")
    card = await tg.next_sent(chat_id, methods={"sendMessage"}, deadline=30)
    message_id = card.message_id
    times = []
    for i in range(n):
        message = tg.message(chat_id, message_id)
        rows = message["reply_markup"]["inline_keyboard"]
        data = rows[0][i % 3]["callback_data"]
        before = len(tg.sent)
        t0 = time.monotonic()
        tg.inject_callback(chat, user, message_id, data)

        def edited(start: int = before) -> bool:
            return any(
                s.method == "editMessageText" and s.message_id == message_id
                for s in tg.sent[start:]
            )

        await tg.wait_for(edited, 10)
        shown = next(
            s for s in tg.sent[before:]
            if s.method == "editMessageText" and s.message_id == message_id
        )  # fmt: skip
        times.append(shown.at - t0)
    return times


async def bench_telegram(server: RedisServer, redis: Any, presses: int, group_presses: int) -> None:
    os.environ["PTB_TIMEDELTA"] = "1"
    async with FakeTelegram() as tg, FakeBluesky() as bsky:
        did = bsky.add_account("subject.bsky.social")
        bsky.add_followers(did, FOLLOWERS, prefix="f")
        base = telegram_settings(
            lambda **kw: Settings(_env_file=None, redis_url=server.url, **kw),  # type: ignore[call-arg]
            tg, bsky.base_url,
        )  # fmt: skip
        named, other = tg.user(1, "Named"), tg.user(3, "Other")
        admin = tg.user(2, "Admin")
        group = tg.group_chat(-100900, "Team")
        tg.set_admins(int(group["id"]), [2])
        async with open_app(review_settings(base, "telegram", 1, 3)) as app:
            world = World(tg, bsky, redis, app)
            await world.start_worker()
            await world.start_bot()
            try:
                private = tg.private_chat(named)
                tg.inject_command(private, named, f"/audit {HANDLE}")
                first = await tg.next_sent(1, methods={"sendMessage"}, deadline=60)

                def reported() -> bool:
                    return "Grade" in str(tg.message(1, first.message_id).get("text", ""))

                await tg.wait_for(reported, 120)
                await tg.next_sent(1, methods={"sendPhoto"}, deadline=60)
                half = min(100, max(1, presses // 2))
                await telegram_presses(tg, private, named, 3)  # warm up
                named_times = await telegram_presses(tg, private, named, half - 3)
                named_times += await telegram_presses(
                    tg, tg.private_chat(other), other, min(100, presses - half)
                )
                print(f"Telegram (fake Bot API), review of {HANDLE} ({FOLLOWERS} audited):")
                show("press -> next card, named reviewers, private", named_times)
                if group_presses:
                    admin_times = await telegram_presses(tg, group, admin, group_presses)
                    show("press -> next card, group admin (card sent privately)", admin_times)
            finally:
                await world.stop()


# ----------------------------------------------------------------------------- Discord
async def bench_discord(server: RedisServer, redis: Any, presses: int) -> None:
    from bot.discord import serve
    from bot.infra.runtime import run_worker

    async with FakeDiscord() as fake, FakeBluesky() as bsky:
        did = bsky.add_account("subject.bsky.social")
        bsky.add_followers(did, FOLLOWERS, prefix="d")
        base = Settings(  # type: ignore[call-arg]
            _env_file=None, redis_url=server.url, redis={"prefix": "fd:"},
            bluesky={"base_url": bsky.base_url, "max_retries": 0},
            discord={"token": fake.token, "api_base": fake.api_base,
                     "gateway_url": fake.gateway_url, "guild_ready_timeout": 0.05},
            worker={"runner": "bot.audit.runner:build_runner", "progress_interval_seconds": 0.0},
            delivery={"claim_idle_seconds": 1.0},
        )  # fmt: skip
        guild = fake.add_guild("Team")
        user = fake.user(7001, "named")
        stop = asyncio.Event()
        async with open_app(review_settings(base, "discord", 7001)) as app:
            tasks = [
                asyncio.create_task(run_worker(app, stop)),
                asyncio.create_task(serve(app, stop)),
            ]
            try:
                await fake.wait_ready(20)
                call = await fake.command("audit", {"handle": HANDLE}, user=user, guild=guild)
                while True:
                    reply = await fake.next_reply(call, deadline=120)
                    if reply.embeds or "⚠️" in reply.content:
                        break
                times: list[float] = []
                while len(times) < presses:
                    call = await fake.command(
                        "review", {"handle": HANDLE, "what": "100"}, user=user, guild=guild
                    )
                    card = await fake.next_reply(call, deadline=30)
                    if not card.custom_ids:
                        break  # every drawn follower labelled
                    message_id = int(card.message["id"]) if card.message else 0
                    while card.custom_ids and len(times) < presses:
                        custom_id = card.custom_ids[len(times) % 3]
                        t0 = time.monotonic()
                        pressed = await fake.press(
                            fake.messages[message_id], custom_id, user=user, guild=guild
                        )
                        card = await fake.next_reply(pressed, deadline=10)
                        times.append(card.at - t0)
                print(f"Discord (fake gateway and REST), review of {HANDLE}:")
                show("press -> next card, named reviewer", times)
            finally:
                stop.set()
                await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)


async def main(ns: argparse.Namespace) -> None:
    async with private_redis() as (server, redis):
        await bench_telegram(server, redis, ns.presses, ns.group_presses)
        await bench_discord(server, redis, min(ns.presses, 100))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--group-presses", type=int, default=100)
    asyncio.run(main(parser.parse_args()))
