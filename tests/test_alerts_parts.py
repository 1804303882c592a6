"""Alert parts on their own: schedule slots, renderings and escaping, stored records, posters
against the fake chat servers (rate limits, refusals), the yielding budgets, the CLI contract."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.alerts.app import yielding_budgets
from bot.alerts.model import ChatRef, StoredError, Watch
from bot.alerts.posters import ConsolePoster, PostError
from bot.alerts.render import (
    MAX_TEXT,
    AlertMessage,
    Line,
    Ours,
    alert_message,
    digest_message,
    notice_message,
)
from bot.alerts.schedule import backoff, next_slot, offset
from bot.alerts.store import WatchStore
from bot.discord.poster import DiscordPoster
from bot.discord.render import alert_markdown
from bot.pipeline.store import Store
from bot.telegram.poster import TelegramPoster
from bot.telegram.render import MARKUP as TELEGRAM
from bot.telegram.render import alert_html
from scoring.audit.compare import BurstMark, Share, Snapshot, compare, member_key
from scoring.audit.render import PLAIN
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.telegram_api import FakeTelegram

HOUR = 3600.0
CHAT = ChatRef("telegram", "-100", None)


# -- schedule ---------------------------------------------------------------------------------
def test_slots_are_spread_and_deterministic() -> None:
    ids = [f"w{i}" for i in range(200)]
    offsets = sorted(offset(i, 6 * HOUR) for i in ids)
    assert offsets == sorted(offset(i, 6 * HOUR) for i in ids)  # deterministic
    assert all(0 <= o < 6 * HOUR for o in offsets)
    hours = {int(o // HOUR) for o in offsets}
    assert hours == set(range(6))  # every hour of the interval gets some
    assert max(b - a for a, b in itertools.pairwise(offsets)) < HOUR


@pytest.mark.parametrize("after", [0.0, 1.0, 5 * HOUR, 6 * HOUR, 1_800_000_000.0, 1e9 + 17.5])
def test_next_slot_is_the_first_slot_after(after: float) -> None:
    interval = 6 * HOUR
    slot = next_slot("abc", after, interval)
    assert after < slot <= after + interval
    assert (slot - offset("abc", interval)) % interval == pytest.approx(0, abs=1e-6)
    assert next_slot("abc", slot, interval) == pytest.approx(slot + interval)


def test_missed_slots_collapse_into_one() -> None:
    interval = 6 * HOUR
    first = next_slot("abc", 0.0, interval)
    later = first + 12 * interval + 10  # twelve slots missed
    assert later < next_slot("abc", later, interval) <= later + interval


def test_backoff_doubles_up_to_the_interval() -> None:
    assert [backoff(n, 6 * HOUR) for n in (1, 2, 3)] == [300.0, 600.0, 1200.0]
    assert backoff(20, 6 * HOUR) == 6 * HOUR


# -- renderings -------------------------------------------------------------------------------
EVIL = ["<b>x</b>", "@everyone", "a\u202eb\nc", "__bold__", "[x](https://e.vil)", "<@123>"]


def _change(evidence: list[str], size: int = 300) -> Any:
    burst = BurstMark(frozenset(member_key(str(i)) for i in range(size)), size, 0.97,
                      tuple(evidence))  # fmt: skip
    prev = Snapshot(0.0, Share(0.02, 0.0, 0.05), "A", 700, 700)
    new = Snapshot(6 * HOUR, Share(0.3, 0.2, 0.4), "D", 1000, 1000, (burst,))
    return compare([prev], new)


def test_alert_text_says_what_changed_and_escapes_platform_text() -> None:
    watch = Watch("bluesky", "team.bsky.social", CHAT, 5.0, 0.0)
    msg = alert_message(watch, _change(EVIL), now=7 * HOUR)
    # each chat's renderer: the console's plain text, Telegram's HTML, Discord's Markdown
    plain, html, md = msg.render(PLAIN), alert_html(msg), alert_markdown(msg)
    assert "Follower alert: bsky:team.bsky.social" in plain
    assert "<b>Follower alert: bsky:team.bsky.social</b>" in html
    assert "**Follower alert: bsky\\:team.bsky.social**" in md
    for text in (plain, html, md):
        assert "from 2% (0–5%) to 30% (20–40%)" in text
        assert "grade dropped from A to D" in text
        assert "1970-01-01 00:00 UTC (7 h ago)" in text
        assert "and 294 more" in text
        assert "\u202e" not in text and "@everyone" not in text
        assert len(text) <= MAX_TEXT
    assert "<b>x</b>" not in html.replace("<b>Follower", "") and "&lt;b&gt;x" in html
    assert "\\_\\_bold\\_\\_" in md and "\\[x\\]\\(https" in md
    assert "<@123>" not in md and "<@123>" not in plain


def test_long_evidence_is_bounded() -> None:
    watch = Watch("bluesky", "team.bsky.social", CHAT, 5.0, 0.0)
    msg = alert_message(watch, _change(["x" * 500] * 25), now=HOUR)
    assert all(
        len(t) <= MAX_TEXT for t in (msg.render(PLAIN), alert_html(msg), alert_markdown(msg))
    )
    assert "Follower alert" in msg.render(PLAIN)


def test_digest_and_notice() -> None:
    watches = [Watch("bluesky", f"a{i}.bsky.social", CHAT, 5.0, 0.0) for i in range(3)]
    digest = digest_message([(w, _change(["z"])) for w in watches], now=HOUR)
    assert digest.kind == "digest" and len(digest.watches) == 3
    assert digest.render(PLAIN).count("\n• ") == 3
    note = notice_message(watches[0], "gone ({}).", "<i>taken down</i>")
    assert "&lt;i&gt;taken down" in alert_html(note)


def test_answers_are_rendered_by_each_chat() -> None:
    """Our words are HTML-encoded for Telegram (the empty watchlist's ``/watch <handle>`` shows
    as typed), platform text goes through each chat's escaper."""
    from bot.alerts.service import Reply
    from tests.fakes.telegram_api import parse_html

    words = "Admins can add one with /watch <handle>."
    assert parse_html(Reply.plain(words).render(TELEGRAM))[0] == words
    watch = Watch("bluesky", "<b>x</b>.bsky.social", CHAT, 5.0, 0.0)
    note = notice_message(watch, "gone ({}).", "@everyone")
    assert "&lt;b&gt;x" in alert_html(note) and "\\<b\\>x" in alert_markdown(note)
    assert "@everyone" not in alert_markdown(note) and "@everyone" not in note.render(PLAIN)


# -- stored records ---------------------------------------------------------------------------
def test_watch_json_round_trip_and_rejection() -> None:
    w = Watch("mastodon", "a@b.social", ChatRef("discord", "9", "1"), 2.5, 10.0, "u1",
              paused="gone", last_audit_at=20.0, failures=2)  # fmt: skip
    assert Watch.from_json(w.to_json()) == w
    data = json.loads(w.to_json())
    for bad in ({**data, "v": 2}, {**data, "threshold": "x"}, {**data, "chat": []}, [1]):
        with pytest.raises(StoredError):
            Watch.from_json(json.dumps(bad))
    with pytest.raises(StoredError):
        Watch.from_json(b"\x80not json")


async def test_store_bounds_alerted_members_and_skips_bad_records(redis: Any) -> None:
    store = WatchStore(redis)
    watch = Watch("bluesky", "a.bsky.social", CHAT, 5.0, 0.0)
    assert await store.add(watch, due=0.0, max_chat=5, max_server=5) == "added"
    snap = Snapshot(1.0, None, None, None, 0)
    for i in range(4):
        members = [f"{i}-{j}" for j in range(40)]
        await store.record(watch, snap, keep=3, alerted=[members], max_alerted=100)
    alerted = await store.alerted(watch.id)
    assert sum(map(len, alerted)) == 100
    assert alerted[-1][0] == "3-0"  # the newest kept
    assert len(await store.history(watch.id)) == 3
    await redis.lpush(store.key("hist", watch.id), b"{not json")
    assert len(await store.history(watch.id)) == 3
    await redis.set(store.key("watch", "junk"), b"pickle\x80")
    await redis.sadd(store.key("chat", CHAT.key), "junk")
    assert [w.id for w in await store.in_chat(CHAT)] == [watch.id]


async def test_server_bound_is_shared_by_its_channels(redis: Any) -> None:
    store = WatchStore(redis)
    a, b = ChatRef("discord", "1", "g"), ChatRef("discord", "2", "g")
    assert await store.add(Watch("bluesky", "x.b", a, 5, 0), due=0, max_chat=5, max_server=2) \
        == "added"  # fmt: skip
    assert await store.add(Watch("bluesky", "y.b", b, 5, 0), due=0, max_chat=5, max_server=2) \
        == "added"  # fmt: skip
    assert await store.add(Watch("bluesky", "z.b", b, 5, 0), due=0, max_chat=5, max_server=2) \
        == "server_full"  # fmt: skip
    assert len(await store.all_ids()) == 2


# -- posters ----------------------------------------------------------------------------------
@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _msg(chart: bytes | None = b"\x89PNG...", words: str = "a & b") -> AlertMessage:
    """An alert: "alert" in bold, then ``words`` (rendered by each poster's chat)."""
    return AlertMessage((Line((Ours("alert"),), bold=True), Line((Ours(words),))), chart)


async def test_telegram_poster_waits_out_429_and_falls_back_to_text(
    session: aiohttp.ClientSession,
) -> None:
    async with FakeTelegram() as tg:
        sleeps = Sleeps()
        poster = TelegramPoster(session, tg.token, tg.base_url, sleep=sleeps)
        tg.fail_next("sendPhoto", retry_after=3)
        await poster.post(CHAT, _msg())
        assert sleeps.waits == [3]
        (photo,) = tg.sent_to(-100)
        assert photo.method == "sendPhoto" and photo.text == "alert\na & b"
        await poster.post(CHAT, _msg(words="long " + "x" * 1500))
        assert tg.sent_to(-100)[-1].method == "sendMessage"
        tg.fail_next("sendMessage", error_code=400, retry_after=None,
                     description="Bad Request: chat not found")  # fmt: skip
        with pytest.raises(PostError, match="refused") as err:
            await poster.post(CHAT, _msg(chart=None))
        assert not err.value.retryable and tg.token not in str(err.value)


async def test_discord_poster_retries_and_gives_up(session: aiohttp.ClientSession) -> None:
    async with FakeDiscord() as dc:
        guild = dc.add_guild()
        chat = ChatRef("discord", guild["channels"][0]["id"], guild["id"])
        sleeps = Sleeps()
        poster = DiscordPoster(session, dc.token, dc.api_base, sleep=sleeps, tries=2)
        dc.fail_next("/messages", retry_after=0.25)
        await poster.post(chat, _msg(chart=None))
        assert sleeps.waits == [0.25]
        reply = await dc.next_channel_message(chat.chat_id)
        assert reply.payload["content"] == "**alert**\na & b" and not reply.uploads
        dc.fail_next("/messages", status=500)
        dc.fail_next("/messages", status=500)
        with pytest.raises(PostError) as err:
            await poster.post(chat, _msg())
        assert err.value.retryable
        wrong = DiscordPoster(session, "not-the-token", dc.api_base, sleep=sleeps)
        with pytest.raises(PostError, match="refused"):
            await wrong.post(chat, _msg())


async def test_console_poster_prints_plain_text() -> None:
    import io

    out = io.StringIO()
    await ConsolePoster(out).post(ChatRef("console", "me"), _msg())
    assert out.getvalue() == "[console:me] alert\na & b\n\n"


# -- re-audits yield to user audits on the shared budgets --------------------------------------
async def test_re_audits_stop_at_their_share_of_a_platform_budget(
    redis: Any, make_settings: Any
) -> None:
    settings = make_settings(alerts={"budget_share": 0.5})
    full = settings.limits.platforms["bluesky"]
    mine = yielding_budgets(settings)["bluesky"]
    assert mine.concurrency == full.concurrency // 2 and mine.requests == full.requests // 2
    masto = settings.limits.platforms["mastodon"]  # kept per instance, fewer instances at once
    assert masto.hosts and yielding_budgets(settings)["mastodon"].hosts == masto.hosts // 2
    store = Store(redis, settings.redis.prefix)
    now = 1000.0

    async def take(budget: Any, token: str) -> float:
        return await store.acquire_budget(
            "bluesky", now=now, requests=budget.requests, window=budget.window_seconds,
            concurrency=budget.concurrency, lease=60.0, token=token,
        )  # fmt: skip

    for i in range(mine.concurrency):  # user audits hold half the slots
        assert await take(full, f"user{i}") == 0
    assert await take(mine, "re-audit") > 0  # the re-audit waits
    assert await take(full, "user-more") == 0  # a user audit still gets in


# -- the CLI contract -------------------------------------------------------------------------
async def test_cli_run_due_posts_and_exits(
    redis: Any, redis_url: str, make_settings: Any, tmp_path: Any
) -> None:
    async with FakeTelegram() as tg:
        store = WatchStore(redis)
        watch = Watch("bluesky", "nobody.invalid", CHAT, 5.0, 0.0)
        await store.add(watch, due=0.0, max_chat=5, max_server=5)
        env = {
            **os.environ,
            "FOLLOWAUDIT_REDIS_URL": redis_url,
            "FOLLOWAUDIT_TELEGRAM__TOKEN": tg.token,
            "FOLLOWAUDIT_TELEGRAM__BASE_URL": tg.base_url,
            "FOLLOWAUDIT_BLUESKY__BASE_URL": tg.base_url + "/no-such-appview",
            "FOLLOWAUDIT_BLUESKY__MAX_RETRIES": "0",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "alerts", "run-due", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 3, err.decode()
        assert b"failed re-audits 1" in err
        assert tg.sent_to(-100) == []  # a platform failure is retried later, not announced
        assert tg.token.encode() not in out + err
        assert (await store.get(watch.id)).failures == 1  # type: ignore[union-attr]
