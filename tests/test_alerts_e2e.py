"""Alerts end to end: a real Redis, the fake Bluesky whose follower list changes between
re-audits, the fake Telegram and Discord servers receiving the posts, an injected clock."""

from __future__ import annotations

import asyncio
import os
import random
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.alerts.app import AlertRuntime, serve
from bot.alerts.model import ChatRef, Watch
from bot.alerts.service import REFUSAL, Caller
from bot.alerts.store import WatchStore
from bot.app import open_app
from bot.discord.render import MARKUP
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import wait_until

HOUR = 3600.0
TARGET = "target.bsky.social"
ADMIN = Caller("1", is_admin=True)
MEMBER = Caller("2", is_admin=False)
GROUP = ChatRef("telegram", "-1001", None)
OTHER_GROUP = ChatRef("telegram", "-1002", None)
_SYL = ["ka", "lo", "mi", "ren", "tas", "vo", "bel", "dor", "fin", "gal", "hu", "ist", "jo",
        "kel", "mar", "nor", "pel", "qu", "ros", "sim"]  # fmt: skip


def add_genuine(fake: FakeBluesky, did: str, n: int, rng: random.Random) -> list[str]:
    """``n`` varied, ordinary-looking followers, newest first in front of the others."""
    added = []
    while len(added) < n:
        name = "".join(rng.choice(_SYL) for _ in range(4))
        handle = f"{name}.{rng.choice(['bsky.social', 'example.com'])}"
        if handle in fake.handles:
            continue
        added.append(
            fake.add_account(
                handle,
                displayName=name.title(),
                description=f"Walks, books and {name}.",
                followersCount=int(rng.lognormvariate(5, 1.5)),
                followsCount=int(rng.lognormvariate(4.5, 1.2)),
                postsCount=int(rng.lognormvariate(5, 1.5)),
                createdAt=f"{rng.randint(2019, 2024)}-{rng.randint(1, 12):02d}-"
                f"{rng.randint(10, 28)}T12:00:00.000Z",
            )
        )
    fake.followers[did][:0] = list(reversed(added))
    fake.profiles[did]["followersCount"] = len(fake.followers[did])
    return added


def add_dump(fake: FakeBluesky, did: str, n: int, tag: str = "buyer") -> list[str]:
    """``n`` bought-looking followers (no bio, no avatar, following thousands, created the same
    days, digits in the handle) arriving together as the newest followers."""
    added = []
    for i in range(n):
        added.append(
            fake.add_account(
                f"{tag}{i:04d}x{(i * 7919) % 100000}.test",
                displayName="",
                description="",
                avatar=None,
                banner=None,
                followersCount=i % 3,
                followsCount=3000 + i,
                postsCount=0,
                createdAt=f"2026-11-{20 + i % 3:02d}T10:00:00.000Z",
            )
        )
    fake.followers[did][:0] = list(reversed(added))
    fake.profiles[did]["followersCount"] = len(fake.followers[did])
    return added


def fake_handles(fake: FakeBluesky, dids: list[str]) -> list[str]:
    return [fake.profiles[d]["handle"] for d in dids]


@pytest.fixture
async def bsky() -> AsyncIterator[FakeBluesky]:
    async with FakeBluesky() as fake:
        did = fake.add_account(TARGET, followersCount=0)
        add_genuine(fake, did, 700, random.Random(7))
        yield fake  # type: ignore[misc]


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def dc() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
def settings_for(
    make_settings: Callable[..., Any], bsky: FakeBluesky, tg: FakeTelegram, dc: FakeDiscord
) -> Callable[..., Any]:
    def build(**alerts: Any) -> Any:
        return make_settings(
            bluesky={"base_url": bsky.base_url, "timeout_seconds": 5, "backoff_seconds": 0.01},
            telegram={"token": tg.token, "base_url": tg.base_url},
            discord={"token": dc.token, "api_base": dc.api_base},
            alerts=alerts,
        )

    return build


@asynccontextmanager
async def runtime(settings: Any, redis: Any, clock: Any) -> AsyncIterator[AlertRuntime]:
    async with open_app(settings, clock=clock) as app:
        yield app.alerts


async def due_now(rt: AlertRuntime, clock: Any, chat: ChatRef) -> None:
    """Move the clock past every watch's next due time in ``chat``."""
    for w in await rt.store.in_chat(chat):
        at = await rt.store.due_at(w.id)
        assert at is not None
        if at > clock():
            clock.now = at + 1


async def test_dump_of_fakes_makes_exactly_one_alert_naming_the_burst(
    settings_for: Callable[..., Any], redis: Any, clock: Any, bsky: FakeBluesky, tg: FakeTelegram
) -> None:
    async with runtime(settings_for(), redis, clock) as rt:
        reply = await rt.service.watch(GROUP, ADMIN, "@Target.bsky.social")
        assert reply.ok and "bsky:target.bsky.social" in reply.text()
        assert "Baseline: grade " in reply.text() and "in all 700 followers" in reply.text()
        assert tg.sent_to(int(GROUP.chat_id)) == []

        did = bsky.handles[TARGET]
        dump = add_dump(bsky, did, 300)
        await due_now(rt, clock, GROUP)
        report = await rt.runner.run_due()
        assert (report.audited, report.alerts) == (1, 1)
        (watch,) = await rt.store.in_chat(GROUP)
        first, second = await rt.store.history(watch.id)
        assert watch.baseline_audit == first.audit_id != watch.last_audit == second.audit_id
        sent = tg.sent_to(int(GROUP.chat_id))
        assert len(sent) == 1
        alert = sent[0]
        assert alert.method == "sendPhoto" and "photo" in alert.uploads
        text = alert.text
        assert "Follower alert: bsky:target.bsky.social" in text
        assert "new burst of 300 suspicious followers" in text
        # the dump's 300 score beyond every validated fake, so the re-audit is firm: its whole
        # interval lies above the baseline's, which is the evidence a rise and a drop need
        assert "grade dropped from A to D" in text
        assert re.search(r"estimated fake share rose from \d+% \(\d+–\d+%\) to 3\d% ", text)
        assert "Since the audit of" in text
        named = [h for h in fake_handles(bsky, dump) if "@" + h in text]
        assert len(named) >= 5
        assert "and 29" in text  # the rest of the 300 counted

        # the next re-audit, with no new followers: nothing
        await due_now(rt, clock, GROUP)
        report = await rt.runner.run_due()
        assert (report.audited, report.alerts) == (1, 0)
        assert len(tg.sent_to(int(GROUP.chat_id))) == 1


async def test_genuine_newcomers_make_no_alert(
    settings_for: Callable[..., Any], redis: Any, clock: Any, bsky: FakeBluesky, dc: FakeDiscord
) -> None:
    guild = dc.add_guild("Team")
    channel = ChatRef("discord", guild["channels"][0]["id"], guild["id"])
    async with runtime(settings_for(), redis, clock) as rt:
        assert (await rt.service.watch(channel, ADMIN, "bsky:target.bsky.social")).ok
        add_genuine(bsky, bsky.handles[TARGET], 300, random.Random(99))
        await due_now(rt, clock, channel)
        report = await rt.runner.run_due()
        assert (report.audited, report.alerts) == (1, 0)
        history = await rt.store.history((await rt.store.in_chat(channel))[0].id)
        assert len(history) == 2 and history[-1].new_followers == 300
    assert [r for r in dc.replies if r.kind == "channel"] == []


async def test_an_inconclusive_re_audit_never_alerts_and_the_watchlist_says_so(
    settings_for: Callable[..., Any], redis: Any, clock: Any, bsky: FakeBluesky, tg: FakeTelegram
) -> None:
    small = bsky.add_account("small.bsky.social", followersCount=0)
    add_genuine(bsky, small, 10, random.Random(3))
    async with runtime(settings_for(), redis, clock) as rt:
        assert (await rt.service.watch(GROUP, ADMIN, "small.bsky.social")).ok
        listed = (await rt.service.watchlist(GROUP)).text()
        assert "(inconclusive)" in listed and "no alert rests on an inconclusive audit" in listed
        add_dump(bsky, small, 15, tag="few")  # 25 followers: still too few for a grade
        await due_now(rt, clock, GROUP)
        report = await rt.runner.run_due()
        assert (report.audited, report.alerts) == (1, 0)
        (watch,) = await rt.store.in_chat(GROUP)
        first, latest = await rt.store.history(watch.id)
        # the share rose far above the baseline's interval, and still: too few for evidence
        assert latest.grade is None and latest.grade_range is not None
        assert first.share is not None and latest.share is not None
        assert latest.share.low > first.share.high
        assert "(inconclusive)" in (await rt.service.watchlist(GROUP)).text()
    assert tg.sent_to(int(GROUP.chat_id)) == []


async def test_discord_alert_goes_to_the_alerts_channel_without_pings(
    settings_for: Callable[..., Any], redis: Any, clock: Any, bsky: FakeBluesky, dc: FakeDiscord
) -> None:
    guild = dc.add_guild("Team")
    here = ChatRef("discord", guild["channels"][0]["id"], guild["id"])
    other = dc.add_guild("Elsewhere")
    there = ChatRef("discord", other["channels"][0]["id"], guild["id"])
    async with runtime(settings_for(), redis, clock) as rt:
        assert (await rt.service.watch(here, ADMIN, "target.bsky.social", "10%")).ok
        shown = await rt.service.set_alerts(here, ADMIN, there)
        assert f"<#{there.chat_id}>" in shown.render(MARKUP)  # as Discord renders it
        add_dump(bsky, bsky.handles[TARGET], 300, tag="everyone")
        await due_now(rt, clock, here)
        assert (await rt.runner.run_due()).alerts == 1
    message = await dc.next_channel_message(there.chat_id)
    assert message.payload["allowed_mentions"] == {"parse": []}
    assert message.pings == frozenset()
    assert "Follower alert" in message.payload["content"]
    assert message.uploads and message.uploads[0].filename == "chart.png"
    channels = {r.channel_id for r in dc.replies if r.kind == "channel"}
    assert channels == {int(there.chat_id)}


async def test_non_admins_cannot_change_the_watchlist(
    settings_for: Callable[..., Any], redis: Any, clock: Any
) -> None:
    async with runtime(settings_for(), redis, clock) as rt:
        assert (await rt.service.watch(GROUP, ADMIN, "target.bsky.social")).ok
        before = await rt.service.watchlist(GROUP)
        for reply in (
            await rt.service.watch(GROUP, MEMBER, "other.bsky.social"),
            await rt.service.unwatch(GROUP, MEMBER, "target.bsky.social"),
            await rt.service.set_alerts(GROUP, MEMBER, OTHER_GROUP),
        ):
            assert not reply.ok and reply.text() == REFUSAL and "\n" not in reply.text()
        after = await rt.service.watchlist(GROUP)
        assert after.text() == before.text()
        assert "bsky:target.bsky.social" in after.text()
        assert await rt.store.destination(GROUP) == GROUP
        # and an admin can
        assert (await rt.service.unwatch(GROUP, ADMIN, "bsky:target.bsky.social")).ok
        assert "No accounts are watched" in (await rt.service.watchlist(GROUP)).text()


async def test_watches_survive_a_redis_restart(
    settings_for: Callable[..., Any], redis: Any, redis_server: Any, clock: Any, tg: FakeTelegram
) -> None:
    async with runtime(settings_for(), redis, clock) as rt:
        assert (await rt.service.watch(GROUP, ADMIN, "target.bsky.social", "3")).ok
        await rt.service.set_alerts(GROUP, ADMIN, OTHER_GROUP)
        (watch,) = await rt.store.in_chat(GROUP)
        due = await rt.store.due_at(watch.id)
    redis_server.restart()
    async with runtime(settings_for(), redis, clock) as rt:
        (again,) = await rt.store.in_chat(GROUP)
        assert again == watch and again.threshold == 3.0
        assert await rt.store.due_at(watch.id) == due
        assert len(await rt.store.history(watch.id)) == 1
        assert await rt.store.destination(GROUP) == OTHER_GROUP
        await due_now(rt, clock, GROUP)
        assert (await rt.runner.run_due()).audited == 1


async def test_a_schedule_missed_while_down_runs_once(
    settings_for: Callable[..., Any], redis: Any, clock: Any, bsky: FakeBluesky
) -> None:
    settings = settings_for()
    async with runtime(settings, redis, clock) as rt:
        assert (await rt.service.watch(GROUP, ADMIN, "target.bsky.social")).ok
        (watch,) = await rt.store.in_chat(GROUP)
    clock.advance(3 * 24 * HOUR)  # twelve slots pass while nothing runs
    pages = bsky.requests["getFollowers"]
    async with runtime(settings, redis, clock) as rt:
        first = await rt.runner.run_due()
        assert first.audited == 1
        assert (await rt.runner.run_due()).audited == 0
        nxt = await rt.store.due_at(watch.id)
        assert nxt is not None and clock() < nxt <= clock() + settings.alerts.interval_seconds
        assert len(await rt.store.history(watch.id)) == 2
    # one re-audit; with no new followers it stops at the first page of known ones
    assert 1 <= bsky.requests["getFollowers"] - pages <= 2


async def test_account_gone_says_so_once_and_pauses(
    settings_for: Callable[..., Any], redis: Any, clock: Any, bsky: FakeBluesky, tg: FakeTelegram
) -> None:
    async with runtime(settings_for(), redis, clock) as rt:
        assert (await rt.service.watch(GROUP, ADMIN, "target.bsky.social")).ok
        bsky.taken_down.add(bsky.handles[TARGET])
        await due_now(rt, clock, GROUP)
        report = await rt.runner.run_due()
        assert report.notices == 1
        (sent,) = tg.sent_to(int(GROUP.chat_id))
        assert "can no longer be audited" in sent.text and "paused" in sent.text
        clock.advance(24 * HOUR)
        assert (await rt.runner.run_due(all_watches=True)).notices == 0
        assert len(tg.sent_to(int(GROUP.chat_id))) == 1
        assert "paused" in (await rt.service.watchlist(GROUP)).text()
        # back again: /watch resumes it, due at once
        bsky.taken_down.clear()
        resumed = await rt.service.watch(GROUP, ADMIN, "target.bsky.social")
        assert resumed.ok and "Resumed watching bsky:target.bsky.social" in resumed.text()
        assert (await rt.runner.run_due()).audited == 1
        assert len(tg.sent_to(int(GROUP.chat_id))) == 1


async def test_many_accounts_firing_at_once_make_one_digest(
    settings_for: Callable[..., Any], redis: Any, clock: Any, bsky: FakeBluesky, tg: FakeTelegram
) -> None:
    others = []
    for name in ("second.bsky.social", "third.bsky.social"):
        did = bsky.add_account(name)
        add_genuine(bsky, did, 300, random.Random(len(name)))
        others.append((name, did))
    async with runtime(settings_for(digest_min=2, sample=600), redis, clock) as rt:
        for name, _ in others:
            assert (await rt.service.watch(GROUP, ADMIN, name)).ok
        for i, (_, did) in enumerate(others):
            add_dump(bsky, did, 200, tag=f"bot{i}n")
        clock.advance(7 * HOUR)
        report = await rt.runner.run_due(all_watches=True)
        assert (report.alerts, report.digests) == (2, 1)
    (digest,) = tg.sent_to(int(GROUP.chat_id))
    assert digest.method == "sendMessage"
    assert "2 watched accounts changed" in digest.text
    assert "second.bsky.social" in digest.text and "third.bsky.social" in digest.text


async def test_cool_down_and_limits(
    settings_for: Callable[..., Any], redis: Any, clock: Any, bsky: FakeBluesky
) -> None:
    settings = settings_for(max_per_chat=1, cooldown_seconds=12 * HOUR)
    async with runtime(settings, redis, clock) as rt:
        assert (await rt.service.watch(GROUP, ADMIN, "target.bsky.social")).ok
        refused = await rt.service.watch(GROUP, ADMIN, "someone.bsky.social")
        assert not refused.ok and "limit" in refused.text()
        again = await rt.service.watch(GROUP, ADMIN, "target.bsky.social", "7")
        assert again.ok and "threshold now 7 points" in again.text()
        add_dump(bsky, bsky.handles[TARGET], 300)
        await due_now(rt, clock, GROUP)
        assert (await rt.runner.run_due()).alerts == 1
        (watch,) = await rt.store.in_chat(GROUP)
        nxt = await rt.store.due_at(watch.id)
        assert nxt is not None and nxt >= clock() + 12 * HOUR


async def test_serve_runs_due_re_audits_beside_followaudit_run(
    settings_for: Callable[..., Any], redis: Any, bsky: FakeBluesky
) -> None:
    store = WatchStore(redis)
    watch = Watch("bluesky", TARGET, GROUP, 5.0, 0.0)
    assert await store.add(watch, due=0.0, max_chat=5, max_server=5) == "added"
    stop = asyncio.Event()
    async with open_app(settings_for()) as app:
        task = asyncio.create_task(serve(app.alerts, stop))

        async def audited() -> bool:
            return len(await store.history(watch.id)) == 1

        await wait_until(audited, within=30, what="the baseline re-audit")
        stop.set()
        await asyncio.wait_for(task, 10)
    due = await store.due_at(watch.id)
    assert due is not None and time.time() < due <= time.time() + 6 * HOUR


async def test_cli_run_due_all_posts_the_alert_and_exits(
    settings_for: Callable[..., Any],
    redis: Any,
    redis_url: str,
    clock: Any,
    bsky: FakeBluesky,
    tg: FakeTelegram,
    tmp_path: Any,
) -> None:
    async with runtime(settings_for(), redis, clock) as rt:
        assert (await rt.service.watch(GROUP, ADMIN, "target.bsky.social")).ok
    add_dump(bsky, bsky.handles[TARGET], 300)
    env = {
        **os.environ,
        "FOLLOWAUDIT_REDIS_URL": redis_url,
        "FOLLOWAUDIT_BLUESKY__BASE_URL": bsky.base_url,
        "FOLLOWAUDIT_TELEGRAM__TOKEN": tg.token,
        "FOLLOWAUDIT_TELEGRAM__BASE_URL": tg.base_url,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "alerts", "run-due", "--all", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()
    assert b"alerts 1" in err and tg.token.encode() not in out + err
    (alert,) = tg.sent_to(int(GROUP.chat_id))  # accepted before the command exited
    assert alert.method == "sendPhoto" and "new burst of 300" in alert.text
    assert get_updates_never_called(tg)


def get_updates_never_called(tg: FakeTelegram) -> bool:
    return tg.calls_to("getUpdates") == []
