"""Team alerts through the real discord.py bot on the fake gateway and REST API: the watch slash
commands run on a real Redis against the fake Bluesky AppView, the admin check is the member's
Manage Server permission, and the re-audit runs with an injected clock."""

from __future__ import annotations

import random
import re
from typing import Any

from bot.alerts.model import ChatPrefs, ChatRef
from bot.alerts.service import REFUSAL
from bot.alerts.store import WatchStore
from bot.app import open_app
from tests.fakes.discord_api import DEFAULT_PERMISSIONS, MANAGE_GUILD, FakeDiscord, Interaction
from tests.test_alerts_e2e import TARGET, add_dump, add_genuine, fake_handles
from tests.test_discord_bot import World, world  # noqa: F401  (the bot's fixture, reused)

MANAGER = DEFAULT_PERMISSIONS | MANAGE_GUILD


async def answer(fake: FakeDiscord, call: Interaction) -> str:
    """The deferral comes first (type 5), then the edit with the answer, as Discord shows it."""
    assert (await fake.next_reply(call, deadline=20)).callback_type == 5
    edit = await fake.next_reply(call, kinds={"edit"}, deadline=30)
    assert edit.payload["allowed_mentions"] == {"parse": []} and edit.pings == frozenset()
    return re.sub(r"\\(.)", r"\1", edit.content)  # as Discord shows it: escapes removed


async def test_managers_watch_and_the_dump_alerts_the_channel_once(
    world: World,  # noqa: F811
    redis: Any,
    clock: Any,
) -> None:
    fake, bsky, guild = world.discord, world.bsky, world.guild
    add_genuine(bsky, bsky.add_account(TARGET, followersCount=0), 700, random.Random(7))
    await world.start_bot()
    boss, member = fake.user(7001, "boss"), fake.user(7002, "member")
    channel = ChatRef("discord", str(guild["channels"][0]["id"]), str(guild["id"]))
    store = WatchStore(redis, world.settings.redis.prefix)

    call = await fake.command("watch", {"handle": "@Target.bsky.social", "threshold": "5%"},
                              user=boss, guild=guild, permissions=MANAGER)  # fmt: skip
    text = await answer(fake, call)
    assert text.startswith("Watching bsky:target.bsky.social (alert threshold 5 points)")
    (watch,) = await store.in_chat(channel)

    for name, options in (("watch", {"handle": "other.bsky.social"}),
                          ("unwatch", {"handle": TARGET}),
                          ("alerts", {"channel": "here"})):  # fmt: skip
        call = await fake.command(name, options, user=member, guild=guild)
        assert await answer(fake, call) == REFUSAL
    assert await store.in_chat(channel) == [watch]

    listed = await answer(fake, await fake.command("watchlist", user=member, guild=guild))
    assert listed.startswith("Watched in this chat (1 of ")
    assert "bsky:target.bsky.social (threshold 5 points)" in listed

    # a channel elsewhere is refused to a manager too; "here" is fine
    other = fake.add_guild("Elsewhere")["channels"][0]["id"]
    call = await fake.command("alerts", {"channel": f"<#{other}>"}, user=boss, guild=guild,
                              permissions=MANAGER)  # fmt: skip
    assert (await answer(fake, call)).startswith("Name a channel of this server")
    assert await store.destination(channel) == channel

    dump = add_dump(bsky, bsky.handles[TARGET], 300)
    before = len([r for r in fake.replies if r.kind == "channel"])
    async with open_app(world.settings, clock=clock) as app:
        report = await app.alerts.runner.run_due()  # the clock is past the watch's next slot
    assert (report.audited, report.alerts) == (1, 1)
    posted = [r for r in fake.replies if r.kind == "channel"][before:]
    assert len(posted) == 1
    (alert,) = posted
    assert alert.channel_id == int(channel.chat_id) and alert.pings == frozenset()
    assert "Follower alert" in alert.content and "new burst of 300" in alert.content
    assert sum(h.split(".")[0] in alert.content for h in fake_handles(bsky, dump)) >= 5


async def test_in_a_dm_the_user_may_change_their_own_watchlist(
    world: World,  # noqa: F811
) -> None:
    await world.start_bot()
    fake = world.discord
    kim = fake.user(7003, "kim")
    call = await fake.command("unwatch", {"handle": TARGET}, user=kim)
    assert await answer(fake, call) == "bsky:target.bsky.social is not watched in this chat."
    shown = await answer(fake, await fake.command("alerts", user=kim))
    assert shown.startswith("Alerts for this chat's watchlist go to this chat")


async def test_managers_pause_resume_and_set_the_interval(
    world: World,  # noqa: F811
    redis: Any,
) -> None:
    await world.start_bot()
    fake, guild = world.discord, world.guild
    boss, member = fake.user(7001, "boss"), fake.user(7002, "member")
    channel = ChatRef("discord", str(guild["channels"][0]["id"]), str(guild["id"]))
    store = WatchStore(redis, world.settings.redis.prefix)

    for options in ({"channel": "off"}, {"every": "12h"}):
        call = await fake.command("alerts", options, user=member, guild=guild)
        assert await answer(fake, call) == REFUSAL
    call = await fake.command("alerts", {"channel": "off", "every": "2d"}, user=boss,
                              guild=guild, permissions=MANAGER)  # fmt: skip
    text = await answer(fake, call)
    assert text.startswith("Alerts for this chat's watchlist are paused")
    assert "re-audited every 48 h" in text
    assert await store.prefs(channel) == ChatPrefs(True, 48 * 3600.0)
    call = await fake.command("alerts", {"every": "1m"}, user=boss, guild=guild,
                              permissions=MANAGER)  # fmt: skip
    assert (await answer(fake, call)).startswith("The interval must be between")
    call = await fake.command("alerts", {"channel": "on"}, user=boss, guild=guild,
                              permissions=MANAGER)  # fmt: skip
    assert (await answer(fake, call)).startswith("Alerts for this chat's watchlist go to this")
    shown = await answer(fake, await fake.command("alerts", user=member, guild=guild))
    assert "re-audited every 48 h" in shown
    assert await store.prefs(channel) == ChatPrefs(False, 48 * 3600.0)
