"""End to end: the REAL python-telegram-bot Application long-polls the fake Bot API server, the
real pipeline (service, worker with the real runner, delivery stream) runs on a real
redis-server, and the real Bluesky source reads a fake AppView; the runner scores with the
packaged model and renders with the audit's renderers. Waits are deadlines on events, never
sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from bot.app import App, open_app
from bot.audit.runner import build_runner
from bot.pipeline.messages import AuditOutcome, AuditRequest, ReplyTo, dumps, new_id
from bot.pipeline.runner import RunnerContext
from bot.pipeline.worker import Worker
from bot.settings import Settings
from bot.telegram.app import run_adapter
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.telegram_api import FakeTelegram, Sent
from tests.helpers import wait_until
from tests.reports import long_report

HOSTILE_NAME = "<b>Boss</b> & @everyone"


# ----------------------------------------------------------------------------- the world
def fill_bluesky(bsky: FakeBluesky) -> None:
    """alice (120 followers, a third of them fake-looking), a hostile display name, a tiny one."""
    alice = bsky.add_account("alice.bsky.social", displayName="Alice")
    bsky.add_followers(alice, 80, prefix="real", postsCount=40, createdAt="2021-03-01T00:00:00Z")
    bsky.add_followers(
        alice, 40, prefix="bot", avatar=None, description="", postsCount=0, followsCount=4800,
        displayName="", createdAt="2026-11-01T00:00:00Z",
    )  # fmt: skip
    boss = bsky.add_account("boss.bsky.social", displayName=HOSTILE_NAME)
    bsky.add_followers(boss, 40, prefix="fan", postsCount=12)


class World:
    """Fakes, Redis, settings, and the bot and worker as tasks that can stop and start again."""

    def __init__(self, tg: FakeTelegram, bsky: FakeBluesky, redis: Any, app: App):
        self.tg, self.bsky, self.redis, self.app, self.settings = tg, bsky, redis, app, app.settings
        self.bot_stop = asyncio.Event()
        self.worker_stop = asyncio.Event()
        self.bot_task: asyncio.Task[None] | None = None
        self.worker_task: asyncio.Task[None] | None = None
        self.runner = build_runner(
            self.settings,
            RunnerContext(app.budgets, app.audit.uploads, session=app.http, model=app.model),
        )

    async def start_bot(self) -> None:
        self.bot_stop = asyncio.Event()
        ready = asyncio.Event()
        self.bot_task = asyncio.create_task(run_adapter(self.app, self.bot_stop, ready=ready))
        ready_wait = asyncio.create_task(ready.wait())
        await asyncio.wait({ready_wait, self.bot_task}, timeout=20,
                           return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        if self.bot_task.done():
            self.bot_task.result()
        assert ready.is_set(), "the bot did not start"

    async def stop_bot(self) -> None:
        self.bot_stop.set()
        if self.bot_task is not None:
            await asyncio.wait_for(self.bot_task, 20)

    @contextlib.asynccontextmanager
    async def bot_with(self, settings: Settings) -> AsyncIterator[None]:
        """The bot restarted as in a process with ``settings`` (its own composition root, whose
        audit service takes its limits from them), stopped on exit."""
        await self.stop_bot()
        async with open_app(settings) as app:
            self.app = app
            await self.start_bot()
            try:
                yield
            finally:
                await self.stop_bot()

    async def stop_worker(self) -> None:
        self.worker_stop.set()
        if self.worker_task is not None:
            await asyncio.wait_for(self.worker_task, 20)

    async def start_worker(self) -> None:
        self.worker_stop = asyncio.Event()
        worker = Worker(self.redis, self.settings, self.runner)
        self.worker_task = asyncio.create_task(worker.run(self.worker_stop))
        await asyncio.wait_for(worker.started.wait(), 10)

    async def stop(self) -> None:
        self.worker_stop.set()
        self.bot_stop.set()
        for task in (self.bot_task, self.worker_task):
            if task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 20)
        await self.runner.aclose()


def telegram_settings(make: Callable[..., Settings], tg: FakeTelegram, bsky_url: str) -> Settings:
    return make(
        telegram={"token": tg.token, "base_url": tg.base_url, "poll_timeout_seconds": 5,
                  "progress_edit_seconds": 0},
        bluesky={"base_url": bsky_url, "max_retries": 0},
        worker={"progress_interval_seconds": 0, "concurrency": 2},
        delivery={"claim_idle_seconds": 2},
    )  # fmt: skip


@pytest.fixture
async def world(
    monkeypatch: pytest.MonkeyPatch, redis: Any, make_settings: Callable[..., Settings]
) -> AsyncIterator[World]:
    # PTB 22 warns on every RetryAfter unless durations are opted in as timedelta.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    async with FakeTelegram() as tg, FakeBluesky() as bsky:
        fill_bluesky(bsky)
        async with open_app(telegram_settings(make_settings, tg, bsky.base_url)) as app:
            w = World(tg, bsky, redis, app)
            await w.start_worker()
            await w.start_bot()
            try:
                yield w
            finally:
                await w.stop()


async def final_report(
    tg: FakeTelegram, chat_id: int, message_id: int, deadline: float = 30
) -> dict[str, Any]:
    """The first reply once it shows a report (a grade) with its buttons."""

    def done() -> bool:
        msg = tg.message(chat_id, message_id)
        return "Grade" in str(msg.get("text", "")) and bool(msg.get("reply_markup"))

    await tg.wait_for(done, deadline)
    return tg.message(chat_id, message_id)


async def first_reply(tg: FakeTelegram, chat_id: int) -> Sent:
    return await tg.next_sent(chat_id, methods={"sendMessage"}, deadline=10)


def visible(message: dict[str, Any]) -> str:
    return str(message.get("text") or message.get("caption") or "")


# ----------------------------------------------------------------------------- tests
async def test_audit_in_private_chat_ends_with_the_report_in_the_first_reply(world: World) -> None:
    tg = world.tg
    alice = tg.user(1001, "Alice", "alice")
    chat = tg.private_chat(alice)
    tg.inject_command(chat, alice, "/audit bsky:alice.bsky.social")
    first = await first_reply(tg, alice["id"])
    assert "bsky:alice.bsky.social" in first.text
    report = await final_report(tg, alice["id"], first.message_id)
    text = visible(report)
    assert "Grade" in text and "Fake followers" in text and "120" in text
    # the progress was edited into the same message: queued, fetching n of N, scoring
    edits = [s.text for s in tg.sent_to(alice["id"])
             if s.method == "editMessageText" and s.message_id == first.message_id]  # fmt: skip
    assert any("queued" in e or "joined" in e for e in edits), edits
    assert any("fetching" in e and " of " in e for e in edits), edits
    assert any("scoring" in e for e in edits), edits
    assert sum("Grade" in e for e in edits) == 1
    # suspicious accounts are linked to their profiles
    links = [e["url"] for e in report.get("entities", []) if e["type"] == "text_link"]
    assert any(u.startswith("https://bsky.app/profile/bot") for u in links), links
    data = [b["callback_data"] for b in report["reply_markup"]["inline_keyboard"][0]]
    assert all(len(d.encode()) <= 64 for d in data)
    photo = await tg.next_sent(alice["id"], methods={"sendPhoto"}, deadline=10)
    assert photo.uploads["photo"].data.startswith(b"\x89PNG")
    assert "Grade" in photo.text and len(photo.text) <= 1024


async def test_a_bare_handle_in_a_private_chat_is_audited(world: World) -> None:
    tg = world.tg
    bob = tg.user(1002, "Bob")
    tg.inject_message(tg.private_chat(bob), bob, "https://bsky.app/profile/alice.bsky.social")
    first = await first_reply(tg, bob["id"])
    report = await final_report(tg, bob["id"], first.message_id)
    assert "alice.bsky.social" in visible(report)


async def test_group_chatter_is_ignored_and_commands_and_mentions_answered(world: World) -> None:
    tg = world.tg
    carol = tg.user(1003, "Carol")
    group = tg.group_chat(-100500, "Team")
    tg.inject_message(group, carol, "alice.bsky.social is great, right?")
    tg.inject_message(group, carol, "hey @someone_else bsky:alice.bsky.social")
    tg.inject_command(group, carol, "/help@followaudit_test_bot")
    helped = await tg.next_sent(group["id"], deadline=10)
    assert "/audit" in helped.text and "bsky:" in helped.text
    tg.inject_message(group, carol, "@followaudit_test_bot bsky:alice.bsky.social")
    first = await first_reply(tg, group["id"])
    await final_report(tg, group["id"], first.message_id)
    sent = [s for s in tg.sent_to(group["id"]) if s.method == "sendMessage"]
    assert len(sent) == 2, [s.text for s in sent]  # the help and the audit's first reply
    # an anonymous admin's command (sent by GroupAnonymousBot for the group) is answered too
    tg.inject_anonymous_admin_command(group, "/audit@followaudit_test_bot bsky:boss.bsky.social")
    anonymous = await first_reply(tg, group["id"])
    await final_report(tg, group["id"], anonymous.message_id)
    # a command for another bot is not ours
    tg.inject_command(group, carol, "/audit@other_bot bsky:alice.bsky.social")
    tg.inject_command(group, carol, "/help")
    await tg.next_sent(group["id"], methods={"sendMessage"}, deadline=10)
    assert not any("other_bot" in s.text for s in tg.sent_to(group["id"]))
    assert len([s for s in tg.sent_to(group["id"]) if s.method == "sendMessage"]) == 4


async def test_a_document_upload_is_audited(world: World) -> None:
    tg = world.tg
    dave = tg.user(1004, "Dave")
    bsky = world.bsky
    did = bsky.handles["alice.bsky.social"]
    rows = [json.dumps(bsky.view(d)) for d in bsky.followers[did][:60]]
    data = ("\n".join(rows) + "\n").encode()
    tg.inject_document(tg.private_chat(dave), dave, "my followers.jsonl", data,
                       mime_type="application/jsonl")  # fmt: skip
    first = await first_reply(tg, dave["id"])
    report = await final_report(tg, dave["id"], first.message_id)
    assert "60" in visible(report)
    assert tg.calls_to("getFile"), "the export is fetched through getFile"
    buttons = [b["text"] for b in report["reply_markup"]["inline_keyboard"][1]]
    assert buttons == ["Verdicts CSV"], "an upload cannot be re-run fresh"
    # a group needs /audit in the caption
    group = tg.group_chat(-100600, "Uploads")
    tg.inject_document(group, dave, "f.jsonl", data, caption="/audit")
    first = await first_reply(tg, group["id"])
    await final_report(tg, group["id"], first.message_id)


async def test_buttons_send_more_accounts_reasons_and_a_csv(world: World) -> None:
    tg = world.tg
    erin = tg.user(1005, "Erin")
    chat = tg.private_chat(erin)
    tg.inject_command(chat, erin, "/audit bsky:alice.bsky.social")
    first = await first_reply(tg, erin["id"])
    report = await final_report(tg, erin["id"], first.message_id)
    keys = {b["text"]: b["callback_data"] for row in report["reply_markup"]["inline_keyboard"]
            for b in row}  # fmt: skip
    await tg.next_sent(erin["id"], methods={"sendPhoto"}, deadline=10)

    press = tg.inject_callback(chat, erin, first.message_id, keys["More accounts"])
    await tg.next_callback_answer(press["callback_query"]["id"], deadline=10)
    more = await tg.next_sent(erin["id"], methods={"sendMessage"}, deadline=10)
    assert "Suspicious accounts of" in more.text
    assert more.text.splitlines()[1].startswith("6. @")  # after the five the report shows
    shown = {e["url"] for e in report.get("entities", []) if e["type"] == "text_link"}
    listed = [u for _, u in more.links]
    assert len(listed) == 20 and all(u.startswith("https://bsky.app/profile/") for u in listed)
    assert not shown & set(listed), "no account of the report is listed again"

    tg.inject_callback(chat, erin, first.message_id, keys["All reasons"])
    reasons = await tg.next_sent(erin["id"], methods={"sendMessage"}, deadline=10)
    assert "flagged" in reasons.text and "•" in reasons.text

    tg.inject_callback(chat, erin, first.message_id, keys["Verdicts CSV"])
    doc = await tg.next_sent(erin["id"], methods={"sendDocument"}, deadline=10)
    csv_text = doc.uploads["document"].data.decode()
    assert csv_text.startswith("position,platform,id,handle,profile,fake_probability")
    assert len(csv_text.strip().splitlines()) == 121  # header + every sampled follower

    press = tg.inject_callback(chat, erin, first.message_id, "m:nosuchkey")
    answer = await tg.next_callback_answer(press["callback_query"]["id"], deadline=10)
    assert "expired" in answer.get("text", "")

    fetched = world.bsky.requests["getFollowers"]
    tg.inject_callback(chat, erin, first.message_id, keys["Re-run fresh"])
    rerun = await first_reply(tg, erin["id"])
    assert rerun.message_id != first.message_id
    await final_report(tg, erin["id"], rerun.message_id)
    assert "cached" not in visible(tg.message(erin["id"], rerun.message_id))
    assert world.bsky.requests["getFollowers"] > fetched, "fresh: the followers were read again"


async def test_a_hostile_display_name_arrives_escaped(world: World) -> None:
    tg = world.tg
    fay = tg.user(1006, "Fay")
    tg.inject_command(tg.private_chat(fay), fay, "/audit @boss.bsky.social")
    first = await first_reply(tg, fay["id"])
    report = await final_report(tg, fay["id"], first.message_id)
    text = visible(report)
    assert "<b>Boss</b> &" in text  # shown verbatim, not as markup
    assert "@everyone" not in text and "@\u200beveryone" in text  # the mention is broken
    bold = [text_ for text_ in _entity_texts(report, "bold")]
    assert "Boss" not in bold


async def test_a_bad_handle_and_an_unknown_command_get_one_line_with_an_example(
    world: World,
) -> None:
    tg = world.tg
    gus = tg.user(1007, "Gus")
    chat = tg.private_chat(gus)
    tg.inject_command(chat, gus, "/audit https://evil.example/x?y")
    bad = await tg.next_sent(gus["id"], deadline=10)
    assert "\n" not in bad.text and "/audit bsky:alice.bsky.social" in bad.text
    tg.inject_command(chat, gus, "/frobnicate")
    unknown = await tg.next_sent(gus["id"], deadline=10)
    assert "\n" not in unknown.text and "/audit bsky:" in unknown.text
    tg.inject_command(chat, gus, "/start")
    helped = await tg.next_sent(gus["id"], deadline=10)
    assert "Bluesky" in helped.text and "mastodon:" in helped.text


async def test_markup_typed_into_audit_comes_back_literally(world: World) -> None:
    """The usage line quotes what the user typed: escaped, since the bot's parse mode is HTML."""
    tg = world.tg
    ida = tg.user(1017, "Ida")
    tg.inject_command(tg.private_chat(ida), ida, "/audit bsky:alice.bsky.social <b>x</b>")
    answer = await tg.next_sent(ida["id"], deadline=10)
    assert answer.method == "sendMessage"
    assert answer.text.startswith("'<b>x</b>' is neither a sample size nor 'fresh'"), answer.text
    assert not answer.entities, answer.entities


async def test_a_restart_delivers_what_arrived_while_the_bot_was_down(world: World) -> None:
    tg = world.tg
    world.worker_stop.set()
    assert world.worker_task is not None
    await asyncio.wait_for(world.worker_task, 20)
    hal = tg.user(1008, "Hal")
    tg.inject_command(tg.private_chat(hal), hal, "/audit bsky:alice.bsky.social")
    first = await first_reply(tg, hal["id"])
    await tg.wait_for(lambda: "queued" in visible(tg.message(hal["id"], first.message_id)), 10)
    await world.stop_bot()
    # while the bot is down, the audit runs and its progress and result wait in the stream
    await world.start_worker()
    stream = world.settings.redis.prefix + "deliver:telegram"

    async def result_waiting() -> bool:
        entries = await world.redis.xrange(stream)
        return any(b'"kind":"result"' in fields.get(b"d", b"") for _, fields in entries)

    await wait_until(result_waiting, within=30, what="the result in the delivery stream")
    assert "Grade" not in visible(tg.message(hal["id"], first.message_id))
    await world.start_bot()
    await final_report(tg, hal["id"], first.message_id)
    await tg.next_sent(hal["id"], methods={"sendPhoto"}, deadline=10)

    async def stream_empty() -> bool:
        return int(await world.redis.xlen(stream)) == 0

    await wait_until(stream_empty, within=10, what="every delivery acknowledged")
    reports = [s for s in tg.sent_to(hal["id"]) if "Grade" in s.text and s.method != "sendPhoto"]
    assert len(reports) == 1, "delivered once"


async def test_retry_after_and_a_crowd_of_users_all_get_their_reports(world: World) -> None:
    tg = world.tg
    tg.fail_next("editMessageText", retry_after=1)
    users = [tg.user(2000 + i, f"U{i}") for i in range(8)]
    for user in users:
        tg.inject_command(tg.private_chat(user), user, "/audit bsky:alice.bsky.social 100")
    for user in users:
        first = await first_reply(tg, user["id"])
        await final_report(tg, user["id"], first.message_id, deadline=60)
    assert any(c.status == 429 for c in tg.calls_to("editMessageText"))


def _entity_texts(message: dict[str, Any], kind: str) -> list[str]:
    text = visible(message)
    units = text.encode("utf-16-le")
    return [
        units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in message.get("entities", [])
        if e["type"] == kind
    ]


async def test_a_failing_handler_is_answered_by_the_one_error_handler(world: World) -> None:
    tg = world.tg
    ida = tg.user(1009, "Ida")
    tg.fail_next("sendMessage", error_code=400, retry_after=None, description="Bad Request: boom")
    tg.inject_command(tg.private_chat(ida), ida, "/audit bsky:alice.bsky.social")
    sorry = await tg.next_sent(ida["id"], deadline=10)
    assert sorry.text == "Something went wrong; try again in a minute."


async def test_webhook_mode_receives_updates_from_the_api(world: World) -> None:
    tg = world.tg
    await world.stop_bot()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = world.settings  # the process's settings, as the bot reads them from the root
    settings.telegram.mode = "webhook"
    settings.telegram.webhook_port = port
    settings.telegram.webhook_url = f"http://127.0.0.1:{port}/telegram"
    settings.telegram.webhook_secret = SecretStr("s3cret-token")
    await world.start_bot()
    assert tg.webhook_url.endswith("/telegram") and tg.webhook_secret == "s3cret-token"
    jo = tg.user(1010, "Jo")
    tg.inject_command(tg.private_chat(jo), jo, "/audit bsky:alice.bsky.social")
    first = await first_reply(tg, jo["id"])
    await final_report(tg, jo["id"], first.message_id)
    assert any(status == 200 for _, status in tg.webhook_deliveries)
    import aiohttp

    url = settings.telegram.webhook_url
    async with aiohttp.ClientSession() as http, http.post(url, json={"update_id": 99}) as forged:
        assert forged.status == 403  # an update posted by anyone without the secret


async def test_a_cached_result_comes_with_its_age_and_a_refusal_says_when_to_retry(
    world: World, make_settings: Callable[..., Settings]
) -> None:
    tg = world.tg
    kai = tg.user(1011, "Kai")
    chat = tg.private_chat(kai)
    tg.inject_command(chat, kai, "/audit bsky:alice.bsky.social")
    first = await first_reply(tg, kai["id"])
    await final_report(tg, kai["id"], first.message_id)
    await tg.next_sent(kai["id"], methods={"sendPhoto"}, deadline=10)
    lee = tg.user(1012, "Lee")
    tg.inject_command(tg.private_chat(lee), lee, "/audit @alice.bsky.social")
    again = await first_reply(tg, lee["id"])
    cached = await final_report(tg, lee["id"], again.message_id)
    assert "From a cached audit" in visible(cached) and " s old" in visible(cached)
    # one request a minute per user: the second is refused with when to retry (a bot of a
    # process whose settings say so: the root builds the audit service with its limits)
    settings = telegram_settings(make_settings, tg, world.bsky.base_url)
    settings.limits.user_requests = 1
    async with world.bot_with(settings):
        max_ = tg.user(1013, "Max")
        tg.inject_command(tg.private_chat(max_), max_, "/audit bsky:boss.bsky.social")
        allowed = await first_reply(tg, max_["id"])
        await final_report(tg, max_["id"], allowed.message_id)
        tg.inject_command(tg.private_chat(max_), max_, "/audit bsky:alice.bsky.social fresh")
        refused = await first_reply(tg, max_["id"])

        def answered() -> bool:
            return "Try again in" in visible(tg.message(max_["id"], refused.message_id))

        await tg.wait_for(answered, 10)


async def test_a_long_report_is_split_with_the_buttons_under_its_last_part(world: World) -> None:
    """A result delivery (as the worker writes it) whose HTML exceeds one message."""
    tg = world.tg
    ned = tg.user(1014, "Ned")
    tg.inject_command(tg.private_chat(ned), ned, "/help")
    helped = await tg.next_sent(ned["id"], deadline=10)
    request = AuditRequest(
        user="telegram:1014", chat="telegram:1014",
        reply=ReplyTo("telegram", {"chat_id": ned["id"], "message_id": helped.message_id}),
        platform="bluesky", handle="alice.bsky.social", sample=100,
    )  # fmt: skip
    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    outcome = AuditOutcome(
        report=long_report(grade="B", grade_range=["B", "B"], subject="alice.bsky.social"),
        chart=png,
    )
    entry = {"v": 1, "kind": "result", "delivery_id": new_id(), "job_id": new_id(),
             "request": request.to_dict(), "payload": outcome.to_dict()}  # fmt: skip
    stream = world.settings.redis.prefix + "deliver:telegram"
    await world.redis.xadd(stream, {"d": dumps(entry)})
    photo = await tg.next_sent(ned["id"], methods={"sendPhoto"}, deadline=10)
    sent = [s for s in tg.sent_to(ned["id"]) if s.method in ("editMessageText", "sendMessage")]
    first, *rest = sent[-3:]
    assert first.method == "editMessageText" and first.message_id == helped.message_id
    assert [s.method for s in rest] == ["sendMessage", "sendMessage"]  # three parts at most
    assert not first.buttons and not rest[0].buttons and rest[1].buttons
    assert all(len(s.text) <= 4096 for s in sent[-3:]) and rest[1].text.endswith("…")
    assert photo.params["reply_parameters"]["message_id"] == rest[1].message_id


def _export(world: World, rows: int = 60) -> bytes:
    did = world.bsky.handles["alice.bsky.social"]
    return ("\n".join(json.dumps(world.bsky.view(d)) for d in world.bsky.followers[did][:rows])
            + "\n").encode()  # fmt: skip


async def _first_answers(tg: FakeTelegram, user_id: int, count: int) -> list[str]:
    """The texts of the first ``count`` replies to a user once none is still submitting."""

    def texts() -> list[str]:
        firsts = [s for s in tg.sent_to(user_id) if s.method == "sendMessage"][:count]
        return [visible(tg.message(user_id, s.message_id)) for s in firsts]

    await tg.wait_for(lambda: len(texts()) == count and not any("submitting" in t
                                                                for t in texts()), 20)  # fmt: skip
    return texts()


async def test_uploads_beyond_the_users_limits_are_refused_before_they_are_downloaded(
    world: World,
) -> None:
    await world.stop_worker()  # nothing finishes: three uploads stay in flight
    tg, data = world.tg, _export(world)
    uma = tg.user(1020, "Uma")
    for i in range(20):
        tg.inject_document(tg.private_chat(uma), uma, f"f{i}.jsonl", data,
                           mime_type="application/jsonl")  # fmt: skip
    texts = await _first_answers(tg, uma["id"], 20)
    assert sum("queued, position" in t for t in texts) == 3, texts
    assert sum("several audits running" in t for t in texts) == 17, texts
    assert len(tg.downloads) == 3 and len(tg.calls_to("getFile")) == 3


async def test_uploads_held_in_redis_are_bounded_and_freed_when_answered(
    world: World, make_settings: Callable[..., Settings]
) -> None:
    tg, data = world.tg, _export(world)
    await world.stop_worker()
    settings = telegram_settings(make_settings, tg, world.bsky.base_url)
    settings.uploads.max_held_bytes = len(data) + 100  # room for one file
    async with world.bot_with(settings):
        vic, wes = tg.user(1021, "Vic"), tg.user(1022, "Wes")
        tg.inject_document(
            tg.private_chat(vic), vic, "a.jsonl", data, mime_type="application/jsonl"
        )
        (queued,) = await _first_answers(tg, vic["id"], 1)
        tg.inject_document(
            tg.private_chat(wes), wes, "b.jsonl", data, mime_type="application/jsonl"
        )
        (full,) = await _first_answers(tg, wes["id"], 1)
        assert "queued" in queued and "Too many uploaded files" in full and "Try again in" in full
        assert len(tg.downloads) == 1, "the second file is refused before it is downloaded"
        # once the first audit is answered its file is deleted, and there is room again
        first = next(s for s in tg.sent_to(vic["id"]) if s.method == "sendMessage")
        await world.start_worker()
        await final_report(tg, vic["id"], first.message_id)
        tg.inject_document(
            tg.private_chat(wes), wes, "b.jsonl", data, mime_type="application/jsonl"
        )
        _, accepted = await _first_answers(tg, wes["id"], 2)
        assert "Too many" not in accepted and len(tg.downloads) == 2
