"""Proof that the fake Bot API speaks Telegram's wire format: the REAL python-telegram-bot
Application long-polls it, answers commands, edits, uploads, downloads, answers buttons, asks
for chat members and honours a 429 ``retry_after``."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.telegram.format import escape as escape_name
from tests.fakes.telegram_api import (
    FakeTelegram,
    FloodLimits,
    TelegramApiError,
    html_visible_text,
    parse_html,
)

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x02\x00\x00\x00\x03\x08\x02\x00\x00\x00"
    b"\x00\x00\x00\x00"
)


async def audit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Throw-away bot: a first reply, an edit into a report with a button, a chart, a CSV."""
    assert update.effective_message is not None
    handle = " ".join(context.args or []) or "nobody"
    first = await update.effective_message.reply_text(f"Queued {handle}")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    await first.edit_text(
        f"<b>Report</b> for {handle} &amp; co", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    await update.effective_message.reply_photo(
        io.BytesIO(PNG), caption="<i>chart</i>", parse_mode=ParseMode.HTML
    )
    await update.effective_message.reply_document(
        io.BytesIO(b"handle,verdict\n@a,fake\n"), filename="verdicts.csv"
    )


async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer("Loading")
    await query.edit_message_reply_markup(None)
    await context.bot.send_chat_action(query.message.chat.id, ChatAction.TYPING)
    await context.bot.send_message(query.message.chat.id, f"more for {query.data}")


async def upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.document is not None
    tg_file = await context.bot.get_file(message.document.file_id)
    data = await tg_file.download_as_bytearray()
    await message.reply_text(f"{message.document.file_name}: {len(data.splitlines())} lines")


async def whoami(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None and update.effective_user is not None
    member = await context.bot.get_chat_member(update.effective_chat.id, update.effective_user.id)
    admins = await context.bot.get_chat_administrators(update.effective_chat.id)
    await context.bot.send_message(
        update.effective_chat.id, f"{member.status} of {len(admins)} admins"
    )


@pytest.fixture
async def tg(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTelegram]:
    # PTB 22 warns on every RetryAfter unless durations are opted in as timedelta.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def app(tg: FakeTelegram) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    application = (
        ApplicationBuilder()
        .token(tg.token)
        .base_url(f"{tg.base_url}/bot")
        .base_file_url(f"{tg.base_url}/file/bot")
        .rate_limiter(AIORateLimiter(max_retries=2))
        .build()
    )
    application.add_handler(CommandHandler("audit", audit))
    application.add_handler(CommandHandler("whoami", whoami))
    application.add_handler(CallbackQueryHandler(more))
    application.add_handler(MessageHandler(filters.Document.ALL, upload))
    async with application:
        assert application.updater is not None
        await application.bot.set_my_commands([("audit", "Audit followers")])
        await application.start()
        await application.updater.start_polling(timeout=5)
        yield application
        await application.updater.stop()
        await application.stop()


async def test_command_edit_photo_document_and_button(tg: FakeTelegram, app: Application) -> None:  # type: ignore[type-arg]
    alice = tg.user(1001, "Alice", "alice")
    chat = tg.private_chat(alice)
    tg.inject_command(chat, alice, "/audit @someone.bsky.social")

    first = await tg.next_sent(chat["id"])
    assert (first.method, first.text) == ("sendMessage", "Queued @someone.bsky.social")
    edit = await tg.next_sent(chat["id"])
    assert edit.method == "editMessageText" and edit.message_id == first.message_id
    assert edit.params["parse_mode"] == "HTML"
    assert edit.html == "<b>Report</b> for @someone.bsky.social &amp; co"
    assert (
        tg.message(chat["id"], first.message_id)["text"] == "Report for @someone.bsky.social & co"
    )
    assert edit.buttons == [{"text": "More", "callback_data": "more:1"}]
    assert edit.entity_texts("bold") == ["Report"]
    photo = await tg.next_sent(chat["id"])
    assert photo.method == "sendPhoto" and photo.uploads["photo"].data == PNG
    assert photo.message["photo"][0]["width"] == 2 and photo.text == "chart"
    document = await tg.next_sent(chat["id"])
    assert document.method == "sendDocument"
    assert document.uploads["document"].filename == "verdicts.csv"
    assert document.uploads["document"].data.startswith(b"handle,verdict")

    press = tg.inject_callback(chat, alice, first.message_id, "more:1")
    answer = await tg.next_callback_answer(press["callback_query"]["id"])
    assert answer["text"] == "Loading"
    unbuttoned = await tg.next_sent(chat["id"])
    assert unbuttoned.method == "editMessageReplyMarkup" and unbuttoned.buttons == []
    assert (await tg.next_sent(chat["id"])).text == "more for more:1"
    assert tg.chat_actions == [(chat["id"], "typing")]
    assert {c.method for c in tg.calls} >= {"getMe", "deleteWebhook", "getUpdates"}
    assert tg.commands == [{"command": "audit", "description": "Audit followers"}]


async def test_group_command_with_bot_name_and_admin_lookup(
    tg: FakeTelegram,
    app: Application,  # type: ignore[type-arg]
) -> None:
    bob = tg.user(1002, "Bob")
    group = tg.group_chat(-100500, "Team")
    tg.set_admins(group["id"], [1002], creator=1003)
    update = tg.inject_command(group, bob, "/whoami@followaudit_test_bot")
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 28}]
    assert (await tg.next_sent(group["id"])).text == "administrator of 2 admins"


async def test_anonymous_admin_is_an_administrator(
    tg: FakeTelegram,
    app: Application,  # type: ignore[type-arg]
) -> None:
    group = tg.group_chat(-100600, "Anon")
    update = tg.inject_anonymous_admin_command(group, "/whoami")
    assert update["message"]["sender_chat"]["id"] == group["id"]
    assert (await tg.next_sent(group["id"])).text == "administrator of 0 admins"


async def test_document_is_downloaded_through_the_file_route(
    tg: FakeTelegram,
    app: Application,  # type: ignore[type-arg]
) -> None:
    carol = tg.user(1004, "Carol")
    chat = tg.private_chat(carol)
    tg.inject_document(chat, carol, "followers.csv", b"handle\n@a\n@b\n", caption="/audit")
    assert (await tg.next_sent(chat["id"])).text == "followers.csv: 3 lines"
    assert tg.calls_to("getFile")


async def test_429_retry_after_is_honoured_by_the_rate_limiter(
    tg: FakeTelegram,
    app: Application,  # type: ignore[type-arg]
) -> None:
    dave = tg.user(1005, "Dave")
    chat = tg.private_chat(dave)
    tg.fail_next("sendMessage", retry_after=1)
    tg.inject_command(chat, dave, "/audit x")
    first = await tg.next_sent(chat["id"], deadline=10)
    assert first.text == "Queued x"
    refused, accepted = tg.calls_to("sendMessage")[:2]
    assert refused.status == 429 and accepted.status == 200
    assert accepted.at - refused.at >= 1.0


async def test_429_on_get_updates_is_honoured_by_polling(
    tg: FakeTelegram,
    app: Application,  # type: ignore[type-arg]
) -> None:
    erin = tg.user(1006, "Erin")
    chat = tg.private_chat(erin)
    tg.fail_next("getUpdates", retry_after=1)
    # The poll in flight answers first; the next one is refused, the one after delivers.
    tg.inject_command(chat, erin, "/audit first")
    assert (await tg.next_sent(chat["id"])).text == "Queued first"
    tg.inject_command(chat, erin, "/audit second")
    await tg.wait_for(lambda: any(s.text == "Queued second" for s in tg.sent), deadline=10)
    polls = tg.calls_to("getUpdates")
    refused = next(i for i, c in enumerate(polls) if c.status == 429)
    assert polls[refused + 1].at - polls[refused].at >= 1.0


async def test_flood_control_refuses_bursts_and_the_rate_limiter_queues_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    async with FakeTelegram(flood=FloodLimits(per_chat=(2, 1.0))) as tg:
        application = (
            ApplicationBuilder()
            .token(tg.token)
            .base_url(f"{tg.base_url}/bot")
            .rate_limiter(AIORateLimiter(max_retries=3))
            .build()
        )
        async with application:
            sent = await asyncio.gather(
                *(application.bot.send_message(1, f"n{i}") for i in range(4))
            )
        assert sorted(m.text for m in sent) == ["n0", "n1", "n2", "n3"]
        assert tg.flood_refusals >= 1
        accepted = [c.at for c in tg.calls_to("sendMessage") if c.status == 200]
        assert accepted[2] - accepted[0] >= 1.0  # at most two a second reached the chat


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_mode_delivers_updates_with_the_secret(
    tg: FakeTelegram,
) -> None:
    application = ApplicationBuilder().token(tg.token).base_url(f"{tg.base_url}/bot").build()
    application.add_handler(CommandHandler("audit", audit))
    port = free_port()
    async with application:
        assert application.updater is not None
        await application.start()
        await application.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="tg-hook",
            webhook_url=f"http://127.0.0.1:{port}/tg-hook",
            secret_token="s3cret",
        )
        ivan = tg.user(1009, "Ivan")
        tg.inject_command(tg.private_chat(ivan), ivan, "/audit hooked")
        assert (await tg.next_sent(ivan["id"])).text == "Queued hooked"
        assert tg.webhook_secret == "s3cret" and tg.webhook_deliveries[0][1] == 200
        tg.webhook_secret = "wrong"
        tg.inject_command(tg.private_chat(ivan), ivan, "/audit forged")
        await tg.wait_for(lambda: any(status == 403 for _, status in tg.webhook_deliveries))
        assert tg.pending_updates == 1  # refused, so still pending as Telegram would keep it
        await application.updater.stop()
        await application.stop()


async def test_errors_have_the_documented_shape(tg: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=tg.base_url) as client:
        wrong = await client.post("/bot0:nope/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        tg.fail_next(retry_after=7)
        limited = await client.post(f"/bot{tg.token}/sendMessage", json={"chat_id": 1, "text": "x"})
        assert limited.status_code == 429
        assert limited.json()["parameters"] == {"retry_after": 7}
        broken = await client.post(
            f"/bot{tg.token}/sendMessage",
            json={"chat_id": 1, "text": "<b>x", "parse_mode": "HTML"},
        )
        assert broken.status_code == 400 and "can't parse entities" in broken.json()["description"]
        polled = await client.post(f"/bot{tg.token}/getUpdates", data={"timeout": "0"})
        assert polled.json() == {"ok": True, "result": []}


async def test_bot_gets_bad_request_for_a_too_long_message(tg: FakeTelegram) -> None:
    application = ApplicationBuilder().token(tg.token).base_url(f"{tg.base_url}/bot").build()
    async with application:
        with pytest.raises(BadRequest, match="too long"):
            await application.bot.send_message(1, "x" * 4097)
        sent = await application.bot.send_message(1, "&lt;ok&gt;", parse_mode=ParseMode.HTML)
        assert sent.text == "<ok>"


def test_html_parse_gives_entities_in_utf16_units() -> None:
    text, entities = parse_html(
        '😀 <b>bold <i>both</i></b> <a href="https://bsky.app/profile/a">@a</a> '
        + escape_name("<b>Eve</b> & @everyone")
    )
    assert text == "😀 bold both @a <b>Eve</b> & @everyone"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "offset": 13, "length": 2, "url": "https://bsky.app/profile/a"},
    ]


def test_html_checker_follows_telegram_rules() -> None:
    assert html_visible_text("<b>a &amp; b</b> &lt;c&gt;") == "a & b <c>"
    for bad in ("a & b", "<b>x", "<div>x</div>", "x < y", "<b><i>x</b></i>", "<a>x</a>"):
        with pytest.raises(TelegramApiError):
            html_visible_text(bad)
