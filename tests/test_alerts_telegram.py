"""Team alerts through the real Telegram adapter: the python-telegram-bot Application long-polls
the fake Bot API, the watch commands run on a real Redis against the fake Bluesky AppView, the
admin check is the fake's ``getChatMember``, and the re-audit runs with an injected clock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.alerts.model import ChatPrefs, ChatRef
from bot.alerts.service import REFUSAL
from bot.alerts.store import WatchStore
from bot.app import open_app
from bot.settings import Settings
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.telegram_api import FakeTelegram
from tests.test_alerts_e2e import TARGET, add_dump, add_genuine, fake_handles
from tests.test_telegram_bot import World, telegram_settings

GROUP_ID = -1001


@pytest.fixture
async def world(
    monkeypatch: pytest.MonkeyPatch, redis: Any, make_settings: Callable[..., Settings]
) -> AsyncIterator[World]:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    async with FakeTelegram() as tg, FakeBluesky() as bsky:
        did = bsky.add_account(TARGET, followersCount=0)
        add_genuine(bsky, did, 700, random.Random(7))
        async with open_app(telegram_settings(make_settings, tg, bsky.base_url)) as app:
            w = World(tg, bsky, redis, app)
            await w.start_bot()
            try:
                yield w
            finally:
                await w.stop()


async def answer(tg: FakeTelegram, chat_id: int, inject: Callable[[], Any]) -> str:
    """Send a command; the bot acknowledges at once and then edits in its answer: return that
    answer as Telegram shows it."""
    inject()
    ack = await tg.next_sent(chat_id, methods={"sendMessage"}, deadline=20)

    def edited() -> bool:
        return any(
            s.method == "editMessageText" and s.message_id == ack.message_id
            for s in tg.sent_to(chat_id)
        )

    await tg.wait_for(edited, 30)
    return str(tg.message(chat_id, ack.message_id)["text"])


async def test_group_admins_watch_and_the_dump_alerts_the_group_once(
    world: World, redis: Any, clock: Any
) -> None:
    tg, bsky = world.tg, world.bsky
    group = tg.group_chat(GROUP_ID, "Team")
    ada, max_ = tg.user(11, "Ada"), tg.user(12, "Max")
    tg.set_admins(GROUP_ID, [11], creator=10)
    store = WatchStore(redis, world.settings.redis.prefix)
    chat = ChatRef("telegram", str(GROUP_ID))

    watch_cmd = "/watch @Target.bsky.social 5%"
    text = await answer(tg, GROUP_ID, lambda: tg.inject_command(group, ada, watch_cmd))
    assert text.startswith("Watching bsky:target.bsky.social (alert threshold 5 points)")
    assert "Baseline: grade " in text
    (watch,) = await store.in_chat(chat)
    assert watch.created_by == "11"

    for command in ("/watch other.bsky.social", "/unwatch target.bsky.social",
                    f"/alerts {GROUP_ID - 1}"):  # fmt: skip
        refused = await answer(tg, GROUP_ID, lambda c=command: tg.inject_command(group, max_, c))
        assert refused == REFUSAL
    assert await store.in_chat(chat) == [watch]
    assert await store.destination(chat) == chat

    listed = await answer(tg, GROUP_ID, lambda: tg.inject_command(group, max_, "/watchlist"))
    assert listed.startswith("Watched in this chat (1 of ")
    assert "bsky:target.bsky.social (threshold 5 points)" in listed
    assert tg.calls_to("getChatMember"), "the admin check asked Telegram"

    # alerts may move only to a chat the admin administers too
    other = GROUP_ID - 1
    move = f"/alerts {other}"
    moved = await answer(tg, GROUP_ID, lambda: tg.inject_command(group, ada, move))
    assert moved.startswith("Alerts can only go to a chat I am in and that you administer")
    assert await store.destination(chat) == chat
    tg.set_admins(other, [11])
    moved = await answer(tg, GROUP_ID, lambda: tg.inject_command(group, ada, move))
    assert moved.startswith(f"Alerts for this chat's watchlist go to telegram chat {other}.")
    assert await store.destination(chat) == ChatRef("telegram", str(other))

    # an anonymous admin posts as the group itself and may change the settings
    shown = await answer(tg, GROUP_ID, lambda: tg.inject_anonymous_admin_command(
        group, "/alerts here"))  # fmt: skip
    assert shown.startswith("Alerts for this chat's watchlist go to this chat.")
    assert await store.destination(chat) == chat

    dump = add_dump(bsky, bsky.handles[TARGET], 300)
    before = len(tg.sent_to(GROUP_ID))
    async with open_app(world.settings, clock=clock) as app:
        report = await app.alerts.runner.run_due()  # the clock is past the watch's next slot
    assert (report.audited, report.alerts) == (1, 1)
    posted = tg.sent_to(GROUP_ID)[before:]
    assert len(posted) == 1
    (alert,) = posted
    assert alert.method == "sendPhoto"
    assert "Follower alert: bsky:target.bsky.social" in alert.text
    assert "new burst of 300 suspicious followers" in alert.text
    assert sum("@" + h in alert.text for h in fake_handles(bsky, dump)) >= 5


async def test_private_chat_owner_is_admin_and_help_lists_the_watch_commands(
    world: World, redis: Any
) -> None:
    tg = world.tg
    kim = tg.user(3001, "Kim")
    chat = tg.private_chat(kim)
    unwatch = "/unwatch target.bsky.social"
    text = await answer(tg, kim["id"], lambda: tg.inject_command(chat, kim, unwatch))
    assert text == "bsky:target.bsky.social is not watched in this chat."  # allowed, not refused
    assert not tg.calls_to("getChatMember")
    tg.inject_command(chat, kim, "/help")
    helped = await tg.next_sent(kim["id"], methods={"sendMessage"}, deadline=20)
    for command in ("/watch HANDLE [THRESHOLD]", "/unwatch HANDLE", "/watchlist", "/alerts here"):
        assert command in helped.text
    tg.inject_command(chat, kim, "/alerts to somewhere else")
    usage = await tg.next_sent(kim["id"], methods={"sendMessage"}, deadline=20)
    assert usage.text.startswith("Use /alerts")


async def test_alerts_off_on_and_every_in_a_group(world: World, redis: Any) -> None:
    tg = world.tg
    group = tg.group_chat(GROUP_ID, "Team")
    ada, max_ = tg.user(11, "Ada"), tg.user(12, "Max")
    tg.set_admins(GROUP_ID, [11], creator=10)
    store = WatchStore(redis, world.settings.redis.prefix)
    chat = ChatRef("telegram", str(GROUP_ID))

    for command in ("/alerts off", "/alerts every 12h"):
        refused = await answer(tg, GROUP_ID, lambda c=command: tg.inject_command(group, max_, c))
        assert refused == REFUSAL
    off = await answer(tg, GROUP_ID, lambda: tg.inject_command(group, ada, "/alerts off"))
    assert off.startswith("Alerts for this chat's watchlist are paused")
    every = await answer(tg, GROUP_ID, lambda: tg.inject_command(group, ada, "/alerts every 12h"))
    assert "re-audited every 12 h" in every
    assert await store.prefs(chat) == ChatPrefs(True, 12 * 3600.0)
    shown = await answer(tg, GROUP_ID, lambda: tg.inject_command(group, max_, "/alerts"))
    assert shown == every  # anyone may read where and when
    on = await answer(tg, GROUP_ID, lambda: tg.inject_command(group, ada, "/alerts on"))
    assert on.startswith("Alerts for this chat's watchlist go to this chat.")
    assert await store.prefs(chat) == ChatPrefs(False, 12 * 3600.0)
    usage = await answer(tg, GROUP_ID, lambda: tg.inject_command(group, ada, "/alerts on now"))
    assert usage.startswith("Use /alerts")
