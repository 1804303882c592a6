"""End to end: the real discord.py bot (``bot.discord``) on the fake Discord gateway and REST API,
the real pipeline (service, Redis queue, a worker, delivery stream) on a real redis-server, and a
fake Bluesky AppView serving the followers. Deadlines only, never sleeping.

The worker runs the pipeline's own runner (``bot.audit.runner``): the real Bluesky source and
the packaged scoring model, with what the buttons read (``bot.audit.report.report_actions``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.app import App, open_app
from bot.discord.format import ZWSP
from bot.pipeline.store import Store
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.discord_api import FakeDiscord, Interaction, Reply, check_message_limits
from tests.helpers import wait_until

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SUBJECT = "alice.bsky.social"
HOSTILE = "**Boss** @everyone [free nitro](https://evil.example/x) <@123> @here"
RUNNER = "bot.audit.runner:build_runner"


# ---------------------------------------------------------------------------- the world
def populate(
    bsky: FakeBluesky, *, handle: str = SUBJECT, fakes: int = 40, genuine: int = 80
) -> str:
    """An account whose newest followers are a burst of fake-looking accounts (some with
    hostile display names), older ones genuine."""
    did = bsky.add_account(handle, displayName=HOSTILE)
    bsky.add_followers(did, genuine, prefix="fan")
    bsky.add_followers(
        did, fakes, prefix="bot", displayName=HOSTILE, description="", avatar=None, banner=None,
        followsCount=4000, postsCount=0, createdAt="2026-11-01T00:00:00.000Z",
    )  # fmt: skip
    return did


@dataclass
class World:
    redis: Any
    settings: Any
    discord: FakeDiscord
    bsky: FakeBluesky
    guild: dict[str, Any]
    app: App
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    worker_stop: asyncio.Event = field(default_factory=asyncio.Event)
    bot_stop: asyncio.Event = field(default_factory=asyncio.Event)
    bot_task: asyncio.Task[Any] | None = None

    def start_worker(self) -> None:
        from bot.infra.runtime import run_worker

        self.tasks.append(asyncio.create_task(run_worker(self.app, self.worker_stop)))

    async def start_bot(self, clock: Any = time.time) -> None:
        from bot.discord import serve

        self.bot_stop = asyncio.Event()
        sessions = len(self.discord._ready_sessions)
        self.bot_task = asyncio.create_task(serve(self.app, self.bot_stop, clock=clock))
        await self.discord.wait_for(lambda: len(self.discord._ready_sessions) > sessions, 10)

    async def stop_bot(self) -> None:
        self.bot_stop.set()
        if self.bot_task is not None:
            async with asyncio.timeout(10):
                await self.bot_task
            self.bot_task = None

    async def close(self) -> None:
        await self.stop_bot()
        self.worker_stop.set()
        async with asyncio.timeout(15):
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def user(self, n: int = 1) -> dict[str, Any]:
        return self.discord.user(5000 + n, f"user{n}")

    async def final(self, call: Interaction, deadline: float = 20.0) -> tuple[list[Reply], Reply]:
        """Every answer to ``call`` up to the one that carries an embed (or an error line)."""
        seen: list[Reply] = []
        while True:
            reply = await self.discord.next_reply(call, deadline=deadline)
            seen.append(reply)
            if reply.embeds or "⚠️" in reply.content:
                return seen, reply


@pytest.fixture
async def world(redis: Any, make_settings: Any) -> AsyncIterator[World]:
    async with FakeBluesky() as bsky, FakeDiscord() as fake:
        settings = make_settings(
            bluesky={"base_url": bsky.base_url, "max_retries": 0},
            discord={"token": fake.token, "api_base": fake.api_base,
                     "gateway_url": fake.gateway_url, "guild_ready_timeout": 0.05},
            worker={"runner": RUNNER, "progress_interval_seconds": 0.0, "concurrency": 2},
            delivery={"claim_idle_seconds": 1.0},
            limits={"user_requests": 1000, "chat_requests": 1000, "user_in_flight": 100},
        )  # fmt: skip
        guild = fake.add_guild("Team")
        async with open_app(settings) as app:
            w = World(redis, settings, fake, bsky, guild, app)
            try:
                yield w
            finally:
                await w.close()


def all_text(reply: Reply) -> str:
    parts = [reply.content]
    for embed in reply.embeds:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f['name']} {f['value']}" for f in embed.get("fields") or []]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(parts)


def assert_inert(reply: Reply) -> None:
    """Nobody pinged, nothing Discord would format or link from the hostile name."""
    assert reply.pings == frozenset()
    body = reply.payload["data"] if reply.kind == "callback" else reply.payload
    assert body.get("allowed_mentions") == {"parse": []}
    assert not (reply.message or {}).get("mention_everyone")
    text = all_text(reply)
    assert "@everyone" not in text and "@here" not in text
    assert "**Boss**" not in text and "](https://evil" not in text and "<@123>" not in text


# ---------------------------------------------------------------------------- tests
async def test_audit_defers_shows_progress_and_ends_with_the_report_embed(world: World) -> None:
    populate(world.bsky)
    world.start_worker()
    await world.start_bot()
    assert [c["name"] for c in world.discord.commands[None]] == [
        "audit", "help", "watch", "unwatch", "watchlist", "alerts", "review", "metrics",
        "Audit export",
    ]  # fmt: skip
    assert all(c["contexts"] == [0, 1] for c in world.discord.commands[None])  # servers and DMs
    call = await world.discord.command(
        "audit",
        {"handle": "@alice.bsky.social", "sample": 100},
        user=world.user(),
        guild=world.guild,
    )
    deferral = await world.discord.next_reply(call)
    assert (deferral.kind, deferral.callback_type) == ("callback", 5)
    steps, final = await world.final(call)
    progress = [r.content for r in steps[1:-1]]
    assert progress and all("Grade" not in p for p in progress)
    assert all(p.startswith("⏳ ") for p in progress)
    assert any(("fetching" in p and "of 100" in p) or "scoring" in p for p in progress)
    assert final.kind == "edit" and final.content == ""
    (embed,) = final.embeds
    assert embed["title"].startswith("Grade ") and "alice.bsky.social" in embed["title"]
    assert embed["url"] == "https://bsky.app/profile/alice.bsky.social"
    names = [f["name"] for f in embed["fields"]]
    assert names[:3] == ["Fake followers", "Inactive", "Sample"]
    fields = {f["name"].split(" (")[0]: f["value"] for f in embed["fields"]}
    assert "%" in fields["Fake followers"] and "–" in fields["Fake followers"]
    assert fields["Sample"].startswith("the 100 most recent of 120 followers")
    assert "Bursts" in fields
    suspicious = fields["Suspicious accounts"]
    assert "[@bot" in suspicious and "](<https://bsky.app/profile/bot" in suspicious
    assert embed["footer"]["text"].startswith("Model fa-")
    assert embed["image"]["url"] == "attachment://chart.png"
    assert [a["filename"] for a in final.attachments] == ["chart.png"]
    assert world.discord.attachment_bytes(final.attachments[0]).startswith(PNG_MAGIC)
    job_ids = {cid.split(":")[2] for cid in final.custom_ids}
    assert len(job_ids) == 1
    assert [cid.split(":")[1] for cid in final.custom_ids] == ["more", "why", "csv", "redo"]
    check_message_limits(final.message or {})
    assert_inert(final)
    assert embed["description"].startswith(f"\\*\\*Boss\\*\\* @{ZWSP}everyone \\[free nitro\\]")
    for reply in steps:
        assert reply.pings == frozenset()


async def test_buttons_more_breakdown_csv_and_rerun(world: World) -> None:
    populate(world.bsky)
    world.start_worker()
    await world.start_bot()
    user = world.user(2)
    call = await world.discord.command("audit", {"handle": SUBJECT}, user=user, guild=world.guild)
    _, final = await world.final(call)
    report = world.discord.original(call)
    assert report is not None
    job = final.custom_ids[0].split(":")[2]

    more = await world.discord.press(report, f"fa:more:{job}", user=user, guild=world.guild)
    page = await world.discord.next_reply(more)
    assert page.callback_type == 4 and page.ephemeral
    shown = page.content.count("\n• [@")
    assert 5 <= shown <= 10
    assert page.content.startswith(
        f"Suspicious accounts 6–{5 + shown} of 25 kept from the audit of @alice.bsky.social:"
    )
    assert page.custom_ids == [f"fa:more:{job}:{5 + shown}"]
    check_message_limits(page.payload["data"])
    assert_inert(page)
    assert "\\*\\*Boss\\*\\*" in page.content and f"@{ZWSP}everyone" in page.content
    embed_handles = {
        line.split("]")[0] for line in final.embeds[0]["fields"][-1]["value"].split("\n")
    }
    page_handles = {line.split("]")[0] for line in page.content.split("\n")[1:]}
    assert not embed_handles & page_handles  # the next accounts, not the same again

    why = await world.discord.press(report, f"fa:why:{job}", user=user, guild=world.guild)
    breakdown = await world.discord.next_reply(why)
    assert breakdown.ephemeral and breakdown.embeds[0]["title"].startswith("Reasons")
    assert "no posts: " in breakdown.embeds[0]["description"]

    csv = await world.discord.press(report, f"fa:csv:{job}", user=user, guild=world.guild)
    sheet = await world.discord.next_reply(csv)
    (upload,) = sheet.uploads
    assert upload.filename == "verdicts-alice.bsky.social.csv"
    lines = upload.data.decode().splitlines()
    assert lines[0].startswith("position,platform,id,handle,profile,fake_probability")
    assert len(lines) == 1 + 120 and lines[1].startswith("1,bluesky,did:plc:")

    profiles_read = world.bsky.requests["getFollowers"]
    redo = await world.discord.press(report, f"fa:redo:{job}", user=user, guild=world.guild)
    assert (await world.discord.next_reply(redo)).callback_type == 5
    _, again = await world.final(redo)
    assert again.embeds[0]["title"].startswith("Grade ")
    assert world.bsky.requests["getFollowers"] > profiles_read  # fresh: fetched again


async def test_bad_handle_gets_an_ephemeral_help_line(world: World) -> None:
    await world.start_bot()
    call = await world.discord.command(
        "audit", {"handle": "not a handle!"}, user=world.user(3), guild=world.guild
    )
    answer = await world.discord.next_reply(call)
    assert answer.callback_type == 4 and answer.ephemeral
    assert "Try one of" in answer.content and "bsky" in answer.content
    assert answer.pings == frozenset()
    helped = await world.discord.command("help", user=world.user(3))  # in a DM
    text = await world.discord.next_reply(helped)
    assert text.ephemeral and "Handle forms" in text.content and "Mastodon" in text.content


async def test_audit_slower_than_its_token_arrives_in_the_channel(world: World) -> None:
    populate(world.bsky)
    await world.start_bot()
    call = await world.discord.command(
        "audit", {"handle": SUBJECT}, user=world.user(4), guild=world.guild
    )
    assert (await world.discord.next_reply(call)).callback_type == 5
    queued = await world.discord.next_reply(call)
    assert "queued" in queued.content
    world.discord.expire(call.token)
    world.start_worker()  # only now does the audit run
    notice = await world.discord.next_channel_message(world.guild["channels"][0]["id"], 20)
    assert notice.content.startswith("The audit of @alice.bsky.social asked for here is done")
    assert notice.embeds[0]["title"].startswith("Grade ")
    assert [a["filename"] for a in notice.attachments] == ["chart.png"]
    assert len(notice.custom_ids) == 4
    assert_inert(notice)


async def test_past_the_tokens_lifetime_the_bot_posts_without_trying_the_token(
    world: World,
) -> None:
    populate(world.bsky)
    offset = [0.0]
    await world.start_bot(clock=lambda: time.time() + offset[0])
    call = await world.discord.command(
        "audit", {"handle": SUBJECT}, user=world.user(10), guild=world.guild
    )
    await world.discord.next_reply(call)
    assert "queued" in (await world.discord.next_reply(call)).content
    offset[0] = 15 * 60.0  # fifteen minutes later, by the bot's clock
    world.start_worker()
    notice = await world.discord.next_channel_message(world.guild["channels"][0]["id"], 20)
    assert notice.embeds[0]["title"].startswith("Grade ")
    assert_inert(notice)
    webhook_calls = [p for m, p, _s in world.discord.requests if p.startswith("/webhooks/")]
    assert len(webhook_calls) == 1  # only the "queued" edit, made while the token was young


async def test_cached_answer_in_a_dm_is_deferred_too_and_autocomplete_knows_it(
    world: World,
) -> None:
    populate(world.bsky)
    world.start_worker()
    await world.start_bot()
    user = world.user(5)
    first = await world.discord.command("audit", {"handle": SUBJECT}, user=user)
    await world.final(first)
    fetched = world.bsky.requests["getFollowers"]
    second = await world.discord.command("audit", {"handle": f"bsky:{SUBJECT}"}, user=user)
    assert (await world.discord.next_reply(second)).callback_type == 5
    steps, cached = await world.final(second)
    assert len(steps) == 1 and "Cached result" in cached.embeds[0]["description"]
    assert world.bsky.requests["getFollowers"] == fetched

    typing = await world.discord.autocomplete("audit", {"handle": "ali"}, "handle", user=user)
    choices = (await world.discord.next_reply(typing)).payload["data"]["choices"]
    assert {"name": "Recent: bsky:alice.bsky.social", "value": "bsky:alice.bsky.social"} in choices
    assert choices[0]["value"] == "bsky:ali.bsky.social"
    empty = await world.discord.autocomplete("audit", {"handle": ""}, "handle", user=user)
    forms = [c["name"] for c in (await world.discord.next_reply(empty)).payload["data"]["choices"]]
    assert any(f.startswith("Mastodon") for f in forms) and any(f.startswith("X:") for f in forms)


async def test_a_restarted_bot_delivers_what_finished_while_it_was_down(world: World) -> None:
    populate(world.bsky)
    await world.start_bot()
    call = await world.discord.command(
        "audit", {"handle": SUBJECT}, user=world.user(6), guild=world.guild
    )
    await world.discord.next_reply(call)
    assert "queued" in (await world.discord.next_reply(call)).content
    await world.stop_bot()
    world.start_worker()
    stream = Store(world.redis, world.settings.redis.prefix).delivery_stream("discord")

    async def result_waiting() -> bool:
        entries = await world.redis.xrange(stream)
        return any(b'"kind":"result"' in fields[b"d"] for _id, fields in entries)

    await wait_until(result_waiting, within=20, what="the result in the delivery stream")
    await world.start_bot()
    _, final = await world.final(call)
    assert final.kind == "edit" and final.embeds[0]["title"].startswith("Grade ")


async def test_an_uploaded_export_is_audited(world: World) -> None:
    rows = "\n".join(
        json.dumps({"platform": "bluesky", "id": f"did:plc:{i:024d}", "handle": f"u{i}.test",
                    "followers_count": 0, "following_count": 3000, "posts_count": 0})
        for i in range(50)
    )  # fmt: skip
    export = world.discord.add_attachment("followers.jsonl", rows.encode(), "application/json")
    world.start_worker()
    await world.start_bot()
    user = world.user(7)
    target = world.discord.user_message(world.guild["channels"][0], user, "ours", [export])
    call = await world.discord.message_command("Audit export", target, user=user, guild=world.guild)
    assert (await world.discord.next_reply(call)).callback_type == 5
    _, final = await world.final(call)
    embed = final.embeds[0]
    assert embed["title"].startswith("Grade ") and "followers.jsonl" in embed["title"]
    sample = next(f["value"] for f in embed["fields"] if f["name"] == "Sample")
    assert sample == "50 followers, in the order of the uploaded file"
    assert "redo" not in " ".join(final.custom_ids)

    async def parked_file_gone() -> bool:  # the worker deletes it right after answering
        return await world.redis.keys("fa:upload:*") == []

    await wait_until(parked_file_gone, within=10, what="the parked upload deleted")

    option = await world.discord.command(
        "audit", {"export": export, "sample": 20}, user=user, guild=world.guild
    )
    _, by_option = await world.final(option)
    fields = {f["name"]: f["value"] for f in by_option.embeds[0]["fields"]}
    assert fields["Sample"] == "20 followers, in the order of the uploaded file"

    wrong = world.discord.add_attachment("notes.pdf", b"%PDF-1.4", "application/pdf")
    refused = await world.discord.command("audit", {"export": wrong}, user=user)
    answer = await world.discord.next_reply(refused)
    assert answer.ephemeral and "CSV, JSON or JSON Lines" in answer.content
    bare = world.discord.user_message(world.guild["channels"][0], user, "no file here")
    nothing = await world.discord.message_command(
        "Audit export", bare, user=user, guild=world.guild
    )
    assert (await world.discord.next_reply(nothing)).ephemeral


async def test_dev_guild_sync_and_gateway_from_rest(world: World) -> None:
    from bot.commands.pipeline import ADAPTER_MODULES

    assert ADAPTER_MODULES["discord"] == "bot.discord"  # what `followaudit run` starts
    guild_id = int(world.guild["id"])
    world.settings.discord.gateway_url = None  # ask GET /gateway/bot
    world.settings.discord.dev_guild_id = guild_id
    await world.start_bot()
    assert [c["name"] for c in world.discord.commands[guild_id]] == [
        "audit", "help", "watch", "unwatch", "watchlist", "alerts", "review", "metrics",
        "Audit export",
    ]  # fmt: skip
    assert ("GET", "/gateway/bot", 200) in world.discord.requests
    call = await world.discord.command("help", user=world.user(8), guild=world.guild)
    assert (await world.discord.next_reply(call)).ephemeral


async def test_an_embed_discord_refuses_is_replaced_by_the_text_report(world: World) -> None:
    populate(world.bsky)
    world.start_worker()
    await world.start_bot()
    user = world.user(11)
    await world.final(await world.discord.command("audit", {"handle": SUBJECT}, user=user))
    world.discord.fail_next("/messages/@original", status=400, code=50035, message="Invalid Form")
    cached = await world.discord.command("audit", {"handle": SUBJECT}, user=user)
    assert (await world.discord.next_reply(cached)).callback_type == 5
    text = await world.discord.next_reply(cached)
    assert text.kind == "edit" and not text.embeds and text.custom_ids == []
    assert "Grade " in text.content and "alice" in text.content
    assert len(text.content) <= 2000
    assert_inert(text)
