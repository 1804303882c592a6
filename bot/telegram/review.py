"""Telegram glue of the review conversation (``bot.chat.review``): ``/review``, ``/metrics`` and
the Fake / Genuine / Can't tell / Stop buttons, which edit the card in place into the next
account (or the results). Asked in a group, the card goes to the reviewer's private chat with the
bot when it can (the group's admins still decide who labels: the buttons carry the group's id),
since every message and edit in a group counts against Telegram's 20 a minute there. Every
platform string is HTML-escaped; the handle links to the profile."""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes

from bot.chat.commands import CommandError
from bot.chat.review import (
    BUTTONS,
    Card,
    PressResult,
    ReviewDesk,
    parse_press,
    parse_review_args,
    press_data,
)
from bot.review import Reviewer, ReviewError
from bot.settings import Settings
from bot.telegram.format import escape, link

__all__ = ["TelegramReview", "card_html", "keyboard", "press_html"]

log = logging.getLogger("followaudit.telegram")

_ADMINS = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
#: How long a group's answer to "is this user an admin" is trusted, and how many are kept: every
#: call naming a group counts against Telegram's 20 messages a minute there (PTB's rate limiter
#: holds it back), so a press must not spend one on asking again.
ADMIN_TTL_SECONDS: Final = 60.0
_ADMIN_MEMORY: Final = 10_000
_EXPIRED = "This button is not one of mine any more; start again with /review HANDLE."
_SENT_PRIVATELY = "I sent you the followers to label in our private chat."


def card_html(card: Card, answer: str | None = None) -> str:
    """The account to label (``answer``: the previous label and its score, above it)."""
    handle = link(card.url, card.handle) if card.url else escape(card.handle)
    lines = [f"<b>{escape(card.heading)}</b>: {handle}", *(escape(x) for x in card.lines)]
    if answer:
        lines = [escape(answer), "", *lines]
    return "\n".join(lines)


def keyboard(card: Card, scope: int | None = None) -> InlineKeyboardMarkup:
    """Fake, Genuine, Can't tell on a row; Stop below. ``scope``: the group the review was asked
    in, when the card is in a private chat."""
    buttons = [
        InlineKeyboardButton(
            caption, callback_data=press_data(code, card.review_id, card.index, scope)
        )
        for code, caption in BUTTONS
    ]
    return InlineKeyboardMarkup([buttons[:3], buttons[3:]])


def press_html(
    result: PressResult, scope: int | None = None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A press's answer: the next card with its buttons, or the results without any."""
    if result.card is not None:
        return card_html(result.card, result.answer), keyboard(result.card, scope)
    parts = [result.answer, result.results]
    return escape("\n\n".join(p for p in parts if p)), None


class TelegramReview:
    """The review handlers; the adapter installs them and lends its admin check."""

    def __init__(
        self,
        settings: Settings,
        desk: ReviewDesk,
        bot: Callable[[], Bot],
        *,
        addressed: Callable[[Message], bool],
        sender: Callable[[Message], int],
    ) -> None:
        self.settings = settings
        self.desk = desk
        self.bot = bot
        self.addressed = addressed
        self.sender = sender
        self._admins: collections.OrderedDict[tuple[int, int], tuple[bool, float]] = (
            collections.OrderedDict()
        )

    async def admin_of(self, chat_id: int, user_id: int) -> bool:
        """A group's owner or administrators (Telegram's answer trusted for a minute); in a
        private chat (a positive id) nobody: only the settings' reviewers label there."""
        if chat_id > 0:
            return False
        if user_id == chat_id:
            return True  # an anonymous admin posts as the group itself
        key, now = (chat_id, user_id), time.monotonic()
        known = self._admins.get(key)
        if known is not None and known[1] > now:
            return known[0]
        try:
            member = await self.bot().get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            log.warning("admin check failed: %s", exc)
            return False
        answer = member.status in _ADMINS
        self._admins[key] = (answer, now + ADMIN_TTL_SECONDS)
        self._admins.move_to_end(key)
        while len(self._admins) > _ADMIN_MEMORY:
            self._admins.popitem(last=False)
        return answer

    def _admin(self, chat_id: int, user_id: int) -> Callable[[], Awaitable[bool]]:
        return lambda: self.admin_of(chat_id, user_id)

    async def on_review(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/review HANDLE [N]`` opens (or resumes) a review; ``/review HANDLE results``."""
        message = update.effective_message
        if message is None or not self.addressed(message):
            return
        try:
            command = parse_review_args(list(context.args or []), self.settings)
        except CommandError as exc:
            await message.reply_html(escape(str(exc)), do_quote=False)
            return
        user_id = self.sender(message)
        try:
            if command.results:
                text = await self.desk.results(command)
                await message.reply_html(escape(text), do_quote=False)
                return
            reviewer = Reviewer("telegram", str(user_id))
            card = await self.desk.open(command, reviewer, self._admin(message.chat.id, user_id))
        except ReviewError as exc:
            await message.reply_html(escape(exc.message), do_quote=False)
            return
        if message.chat.type != ChatType.PRIVATE and await self._in_private(card, message):
            return
        await message.reply_html(card_html(card), reply_markup=keyboard(card), do_quote=False)

    async def _in_private(self, card: Card, message: Message) -> bool:
        """Asked in a group: send the card to the reviewer's private chat with the bot, where a
        press is not held to the group's 20 messages a minute, and say so in the group. False
        when that chat is not open (the user never started the bot, or is anonymous): the card
        then goes to the group."""
        user = message.from_user
        if user is None or message.sender_chat is not None:
            return False
        group = message.chat.id
        try:
            await self.bot().send_message(
                user.id, card_html(card), reply_markup=keyboard(card, group)
            )
        except (Forbidden, BadRequest) as exc:
            log.info("review card not sent privately: %s", exc)
            return False
        await message.reply_html(escape(_SENT_PRIVATELY), do_quote=False)
        return True

    async def on_metrics(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/metrics``: the model's AUC and calibration on each platform's labels so far."""
        message = update.effective_message
        if message is None or not self.addressed(message):
            return
        await message.reply_html(escape(await self.desk.metrics()), do_quote=False)

    async def on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A review button: keep the label, edit the card into the next account."""
        query = update.callback_query
        if query is None:
            return
        press = parse_press(query.data)
        message = query.message
        if press is None or not isinstance(message, Message):
            await query.answer(_EXPIRED, show_alert=True)
            return
        user_id = query.from_user.id
        reviewer = Reviewer("telegram", str(user_id))
        where = message.chat.id if press.scope is None else press.scope
        try:
            result = await self.desk.press(press, reviewer, self._admin(where, user_id))
        except ReviewError as exc:
            await query.answer(exc.message, show_alert=True)
            return
        await query.answer()
        text, markup = press_html(result, press.scope)
        try:
            await self.bot().edit_message_text(
                text, message.chat.id, message.message_id, reply_markup=markup
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise
