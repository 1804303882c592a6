"""Telegram as the conversation controller's surface (``bot.chat.conversation``): a request's
message is ``chat_id`` and ``message_id`` (and the forum topic), edited with the Bot API and
replaced by a new message when it is gone; the report's parts are HTML, the chart a photo."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from telegram import Bot, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.chat.buttons import ReportButtons
from bot.chat.conversation import Answer, ChatGone, MessageGone, Result
from bot.pipeline.messages import AuditRequest, Progress, ReplyTo
from bot.pipeline.service import Submission
from bot.telegram import render
from bot.telegram.buttons import report_keyboard

__all__ = ["ADAPTER", "Chat", "Post", "TelegramSurface"]

#: The name of this chat's delivery stream and chat state.
ADAPTER: Final = "telegram"

#: Bot API refusals (lower case) that mean the message to edit is gone.
_GONE: Final = ("not found", "can't be edited")


@dataclass(frozen=True, slots=True)
class Chat:
    """The conversation reference a Telegram request carries through Redis."""

    chat_id: int
    message_id: int = 0
    thread_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        conv: dict[str, Any] = {"chat_id": self.chat_id, "message_id": self.message_id}
        if self.thread_id is not None:
            conv["thread_id"] = self.thread_id
        return conv

    @classmethod
    def from_dict(cls, conv: dict[str, Any]) -> Chat:
        """``ValueError`` when ``conv`` names no chat."""
        try:
            thread = conv.get("thread_id")
            return cls(
                int(conv["chat_id"]),
                int(conv.get("message_id") or 0),
                None if thread is None else int(thread),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Telegram conversation: {exc!r}") from None


@dataclass(frozen=True, slots=True)
class Post:
    """One Telegram message: HTML text with its keyboard, or a photo with the text as its
    caption (sent as a reply to the message before it)."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    photo: bytes | None = None


@contextlib.contextmanager
def _chat_gone() -> Iterator[None]:
    """Blocked by the user, removed from the group, or a chat that no longer exists."""
    try:
        yield
    except Forbidden as exc:
        raise ChatGone(str(exc)) from exc
    except BadRequest as exc:
        if "chat not found" in str(exc).lower():
            raise ChatGone(str(exc)) from exc
        raise


class TelegramSurface:
    """Edits and messages of one bot; a report's buttons are remembered in ``buttons``."""

    failures: tuple[type[Exception], ...] = (TelegramError,)
    progress_when_gone = True

    def __init__(self, bot: Callable[[], Bot], buttons: ReportButtons) -> None:
        self.bot = bot
        self.buttons = buttons

    def conversation(self, reply: ReplyTo) -> Chat:
        return Chat.from_dict(reply.conversation)

    def progress(self, request: AuditRequest, progress: Progress) -> Post:
        return Post(render.progress_html(request.platform, request.handle, progress))

    def status(self, submission: Submission) -> Post:
        return Post(render.submission_html(submission))

    async def answer(self, result: Result) -> Answer[Post]:
        """The report's parts, its buttons under the last, then the chart as a photo."""
        request, outcome, cached = result.request, result.outcome, result.cached
        note = render.cached_note(cached) if cached is not None else None
        texts = render.report_parts(outcome, note=note)
        report = outcome.report if outcome.ok else None
        markup = None
        if report is not None and result.job_id:
            await self.buttons.remember(result)
            markup = report_keyboard(result.job_id, rerun=not request.options)
        parts = [Post(text) for text in texts[:-1]]
        parts.append(Post(texts[-1], markup))
        if outcome.chart is not None and report is not None:
            parts.append(Post(render.chart_caption(report), photo=outcome.chart))
        return Answer(parts)

    async def edit(self, conv: Chat, message: Post) -> int:
        if not conv.message_id:
            raise MessageGone("no message to edit")
        try:
            with _chat_gone():
                await self.bot().edit_message_text(
                    message.text, conv.chat_id, conv.message_id, reply_markup=message.markup
                )
        except BadRequest as exc:
            reason = str(exc).lower()
            if "not modified" in reason:
                return conv.message_id
            if not any(gone in reason for gone in _GONE):
                raise
            raise MessageGone(str(exc)) from exc
        return conv.message_id

    async def send(self, conv: Chat, message: Post, after: object | None) -> int:
        with _chat_gone():
            if message.photo is not None:
                reply = None
                if isinstance(after, int):
                    reply = ReplyParameters(after, allow_sending_without_reply=True)
                sent = await self.bot().send_photo(
                    conv.chat_id, message.photo, caption=message.text, reply_parameters=reply,
                    message_thread_id=conv.thread_id,
                )  # fmt: skip
            else:
                sent = await self.bot().send_message(
                    conv.chat_id, message.text, reply_markup=message.markup,
                    message_thread_id=conv.thread_id,
                )  # fmt: skip
        return sent.message_id
