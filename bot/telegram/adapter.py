"""The Telegram adapter: parse what a user sent, call the audit service, render what comes back.

One first answer per request (a placeholder replaced at once by queued / joined / cached /
refused), edited as progress arrives and finally replaced by the report; the chart follows as a
photo. Everything that arrives through the delivery stream carries its conversation reference
(``chat_id`` and the ``message_id`` to edit) in ``ReplyTo.conversation``, so a restarted process
finishes what an earlier one started.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from telegram import (
    Bot,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.alerts.service import WATCH_HELP_LINES, WatchService
from bot.chat import (
    EXAMPLE,
    HELP_LINES,
    AuditCommand,
    CommandError,
    Controller,
    ReportButtons,
    ReportPress,
    build_request,
    looks_like_handle,
    parse_audit_args,
    verdicts_csv,
)
from bot.chat.review import REVIEW_HELP_LINES
from bot.chat.state import JobRecord
from bot.chat.uploads import UPLOAD_PLATFORM, UploadError, check_upload, safe_name
from bot.pipeline.messages import ReplyTo
from bot.pipeline.service import Download
from bot.telegram import render
from bot.telegram.buttons import legacy_press
from bot.telegram.format import escape
from bot.telegram.review import TelegramReview
from bot.telegram.surface import ADAPTER, Chat, Post, TelegramSurface
from bot.telegram.watch import TelegramWatch

if TYPE_CHECKING:
    from bot.chat.services import ChatServices

__all__ = ["ADAPTER", "COMMANDS", "TelegramAdapter"]

log = logging.getLogger("followaudit.telegram")

COMMANDS: Final = (
    ("audit", "Audit an account's followers: /audit HANDLE [SAMPLE] [fresh]"),
    ("watch", "Watch an account for bought followers: /watch HANDLE [THRESHOLD]"),
    ("unwatch", "Stop watching an account: /unwatch HANDLE"),
    ("watchlist", "The accounts this chat watches"),
    ("alerts", "Where and when alerts go: /alerts [here|CHAT_ID|off|on|every 12h]"),
    ("review", "Label a random sample of an audit's followers: /review HANDLE [N|results]"),
    ("metrics", "The model's AUC and calibration on the reviewers' labels"),
    ("help", "Handle forms, platforms and uploads"),
)
_UNKNOWN: Final = (
    "I know /audit, /watch, /unwatch, /watchlist, /alerts, /review, /metrics and /help, "
    f"e.g. {EXAMPLE}"
)


class TelegramAdapter:
    """Handlers for the Application and the delivery handler; clients are passed in."""

    def __init__(self, app: ChatServices, *, clock: Callable[[], float] = time.monotonic) -> None:
        """On the process's services (``bot.app``): settings, Redis, the audit and watch
        services, the reviews and this chat's state."""
        settings = self.settings = app.settings
        self.redis = app.redis
        self.service = app.audit
        self.watches: WatchService | None = app.alerts.service
        self.clock = clock
        tg = settings.telegram
        self.buttons = ReportButtons(app.audit, app.chat_states[ADAPTER])
        self.max_upload = min(tg.max_upload_bytes, settings.uploads.max_bytes)
        self.bot: Bot | None = None
        self.username = ""
        self.controller = Controller(
            TelegramSurface(self._bot, self.buttons),
            throttle=tg.progress_edit_seconds,
            clock=clock,
        )
        self.watch = TelegramWatch(
            app.alerts.service, self._bot, self.controller, addressed=self._addressed,
            sender=_sender,
        )  # fmt: skip
        self.review: TelegramReview | None = TelegramReview(
            settings, app.review, self._bot, addressed=self._addressed, sender=_sender
        )

    # ------------------------------------------------------------------ wiring
    def install(self, app: Application) -> None:  # type: ignore[type-arg]
        """Register every handler and the one error handler on ``app``."""
        self.bot = app.bot
        private = filters.ChatType.PRIVATE
        groups = filters.ChatType.GROUPS
        new_only = ~filters.UpdateType.EDITED
        app.add_handler(CommandHandler(("start", "help"), self.on_help, filters=new_only))
        app.add_handler(CommandHandler("audit", self.on_audit, filters=new_only))
        for name, callback in (
            ("watch", self.watch.on_watch),
            ("unwatch", self.watch.on_unwatch),
            ("watchlist", self.watch.on_watchlist),
            ("alerts", self.watch.on_alerts),
        ):
            app.add_handler(CommandHandler(name, callback, filters=new_only))
        app.add_handler(
            MessageHandler(
                filters.Document.ALL
                & new_only
                & (private | filters.CaptionRegex(r"^/audit(@\w+)?(\s|$)")),
                self.on_document,
            )
        )
        if self.review is not None:
            app.add_handler(CommandHandler("review", self.review.on_review, filters=new_only))
            app.add_handler(CommandHandler("metrics", self.review.on_metrics, filters=new_only))
            app.add_handler(CallbackQueryHandler(self.review.on_press, pattern=r"^rv:"))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(
            MessageHandler(filters.COMMAND & ~filters.UpdateType.EDITED, self.on_unknown)
        )
        app.add_handler(
            MessageHandler(
                private & filters.TEXT & ~filters.COMMAND & new_only,
                self.on_private_text,
            )
        )
        app.add_handler(
            MessageHandler(
                groups & filters.TEXT & filters.Entity(MessageEntity.MENTION) & new_only,
                self.on_mention,
            )
        )
        app.add_error_handler(self.on_error)

    async def aclose(self) -> None:
        """Cancel progress edits still in flight (the report is never among them)."""
        await self.controller.aclose()

    def _bot(self) -> Bot:
        if self.bot is None:
            raise RuntimeError("install() the adapter on an Application first")
        return self.bot

    # ------------------------------------------------------------------ user-facing handlers
    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not self._addressed(message):
            return
        lines = HELP_LINES + WATCH_HELP_LINES + REVIEW_HELP_LINES
        await message.reply_html(render.help_html(lines), do_quote=False)

    async def on_audit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        await self._audit_words(message, list(context.args or []))

    async def on_private_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        if not looks_like_handle(message.text):
            await _say(message, f"Send me a handle or a profile link, e.g. {EXAMPLE}")
            return
        await self._audit_words(message, message.text.split())

    async def on_mention(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``@thisbot HANDLE [SAMPLE]`` in a group; mentions of anyone else are chatter."""
        message = update.effective_message
        if message is None or not message.text or not self.username:
            return
        mention = f"@{self.username}".lower()
        words = message.text.split()
        at = [i for i, w in enumerate(words) if w.lower().rstrip(",:") == mention]
        if not at:
            return
        rest = words[at[0] + 1 :]
        if not rest:
            await _say(message, f"Give me a handle, e.g. @{self.username} bsky:alice.bsky.social")
            return
        await self._audit_words(message, rest)

    async def on_unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not self._addressed(message):
            return
        await _say(message, _UNKNOWN)

    def _addressed(self, message: Message) -> bool:
        """Private chats always; in groups only ``/cmd@thisbot`` (or a bare command, which with
        privacy mode on only reaches us when meant for us)."""
        if message.chat.type == ChatType.PRIVATE:
            return True
        text = message.text or message.caption or ""
        first = text.split(maxsplit=1)[0] if text.split() else ""
        _, at, target = first.partition("@")
        return not at or target.lower() == self.username.lower()

    async def _audit_words(self, message: Message, words: list[str]) -> None:
        try:
            command = parse_audit_args(words, self.settings)
        except CommandError as exc:
            await _say(message, str(exc))
            return
        await self.start_audit(message, command)

    async def on_document(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.document is None or not self._addressed(message):
            return
        doc = message.document
        words = (message.caption or "").split()[1:] if message.caption else []
        most = min(self.settings.uploads.max_rows, self.settings.sample.max)
        sample = most
        if words and words[0].isdigit() and len(words[0]) <= 9:
            sample = max(1, min(int(words[0]), most))
        try:
            check_upload(doc.file_name, doc.file_size, self.max_upload)
        except UploadError as exc:
            await _say(message, str(exc))
            return

        async def download() -> bytes:
            """Called by the service only once the user's limits allow the audit."""
            tg_file = await doc.get_file()
            check_upload(None, tg_file.file_size, self.max_upload)
            data = bytes(await tg_file.download_as_bytearray())
            check_upload(None, len(data), self.max_upload)
            return data

        command = AuditCommand(UPLOAD_PLATFORM, safe_name(doc.file_name), sample, fresh=True)
        await self.start_audit(message, command, upload=download, upload_size=doc.file_size)

    # ------------------------------------------------------------------ the audit flow
    async def start_audit(
        self,
        message: Message,
        command: AuditCommand,
        *,
        user_id: int | None = None,
        upload: Download | None = None,
        upload_size: int | None = None,
    ) -> None:
        """Answer at once, submit, then turn the answer into queued / joined / cached / refused."""
        chat_id = message.chat.id
        thread = message.message_thread_id if message.is_topic_message else None
        first = await self._bot().send_message(
            chat_id,
            render.placeholder_html(command.platform, command.handle),
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
            message_thread_id=thread,
        )
        conv = Chat(chat_id, first.message_id, thread)
        sender = user_id if user_id is not None else _sender(message)
        user, chat, reply = (
            f"telegram:{sender}",
            f"telegram:{chat_id}",
            ReplyTo(ADAPTER, conv.to_dict()),
        )
        if upload is not None:
            try:
                sub = await self.service.submit_upload(
                    upload, user=user, chat=chat, reply=reply, name=command.handle,
                    sample=command.sample, size=upload_size,
                )  # fmt: skip
            except UploadError as exc:
                await self.controller.show(conv, Post(f"⚠️ {escape(str(exc))}"))
                return
        else:
            sub = await self.service.submit(build_request(command, user=user, chat=chat,
                                                          reply=reply))  # fmt: skip
        await self.controller.submitted(conv, sub)

    # ------------------------------------------------------------------ buttons
    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        found = await self._pressed(query.data)
        report = await self.buttons.report(found[0].job_id) if found else None
        message = query.message
        if found is None or report is None or not isinstance(message, Message):
            await query.answer("This report has expired; run /audit again.", show_alert=True)
            return
        press, record = found
        chat_id = message.chat.id
        reply = ReplyParameters(message.message_id, allow_sending_without_reply=True)
        thread = message.message_thread_id if message.is_topic_message else None
        bot = self._bot()
        if press.action == "redo":
            if record.upload:
                await query.answer("Send the file again to audit it anew.", show_alert=True)
                return
            await query.answer("Running it again…")
            command = AuditCommand(record.platform, record.handle, record.sample, fresh=True)
            await self.start_audit(message, command, user_id=query.from_user.id)
            return
        await query.answer()
        if press.action == "csv":
            data, complete = verdicts_csv(report)
            name = f"verdicts-{safe_name(render.label(record.platform, record.handle))}.csv"
            rows = data.count(b"\n") - 1
            caption = f"{rows:,} verdicts" + ("" if complete else " (suspicious accounts only)")
            await bot.send_document(chat_id, data, filename=name, caption=caption,
                                    reply_parameters=reply, message_thread_id=thread)  # fmt: skip
            return
        if press.action == "more":
            start = min(len(report.audit.suspicious), len(report.accounts))
            parts = render.accounts_html(report, start=start)
        else:
            parts = render.reasons_html(report)
        for part in parts:
            await bot.send_message(chat_id, part, reply_parameters=reply,
                                   message_thread_id=thread)  # fmt: skip

    async def _pressed(self, data: str | None) -> tuple[ReportPress, JobRecord] | None:
        """A report button's press and the request behind its report (None: expired)."""
        press = ReportPress.parse(data)
        if press is None:
            return await legacy_press(self.redis, data, prefix=self.settings.redis.prefix)
        record = await self.buttons.record(press.job_id)
        return None if record is None else (press, record)

    # ------------------------------------------------------------------ errors
    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The one error handler: log, and tell the user in one line when there is a chat."""
        error = context.error
        if isinstance(error, RetryAfter | Forbidden):
            log.warning("telegram refused: %s", error)
            return
        log.error("update failed", exc_info=error)
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(
                    update.effective_chat.id, escape("Something went wrong; try again in a minute.")
                )
            except TelegramError:
                log.warning("could not tell the chat about the failure")


async def _say(message: Message, text: str) -> None:
    """Answer ``message`` with the plain ``text`` (which may carry what a user typed or a
    platform name): escaped, since the bot's default parse mode is HTML."""
    await message.reply_text(escape(text))


def _sender(message: Message) -> int:
    """Who asked, for the per-user limits: anonymous admins and channels count as their chat."""
    if message.sender_chat is not None:
        return message.sender_chat.id
    return message.from_user.id if message.from_user is not None else message.chat.id
