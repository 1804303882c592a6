"""Telegram's watchlist commands: ``/watch``, ``/unwatch``, ``/watchlist`` and ``/alerts``,
parsed here and answered by the watch service (``bot.alerts``) in Telegram's markup.

Each is acknowledged at once, then the acknowledgement is edited into the service's answer
through the conversation controller (a new message when it is gone). Who administers a chat is
Telegram's word (``getChatMember``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from telegram import Bot, Message, ReplyParameters, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.alerts.model import ChatRef
from bot.alerts.service import Caller, Reply, WatchService
from bot.chat.conversation import Controller
from bot.telegram import render
from bot.telegram.format import escape
from bot.telegram.surface import ADAPTER, Chat, Post

__all__ = ["TelegramWatch"]

log = logging.getLogger("followaudit.telegram")

_ALERTS_USAGE: Final = (
    "Use /alerts to see; /alerts here or /alerts CHAT_ID to move, /alerts off or on to pause or "
    "resume, /alerts every 12h to set how often."
)
_ELSEWHERE: Final = (
    "Alerts can only go to a chat I am in and that you administer too; nothing changed."
)
_ADMIN_STATUSES: Final = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})


def _is_chat_id(text: str) -> bool:
    """A Telegram chat id as typed: an integer, negative for groups, at most 20 characters."""
    return 0 < len(text) <= 20 and text.lstrip("-").isdigit() and text.count("-") <= 1


@dataclass(eq=False)
class TelegramWatch:
    """The watchlist handlers of one bot; ``addressed`` says whether a message is meant for
    it, ``sender`` who asked."""

    watches: WatchService | None
    bot: Callable[[], Bot]
    controller: Controller[Chat, Post]
    addressed: Callable[[Message], bool]
    sender: Callable[[Message], int]

    async def on_watch(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/watch HANDLE [THRESHOLD]``: admins only; the baseline audit runs before the
        answer, so the chat sees an acknowledgement first."""
        args = list(context.args or [])
        if not args or len(args) > 2:
            await self._watch_answer(update, None, "Use: /watch HANDLE [THRESHOLD], e.g. "
                                     "/watch bsky:alice.bsky.social 5")  # fmt: skip
            return
        handle, threshold = args[0], (args[1] if len(args) > 1 else None)

        async def act(svc: WatchService, chat: ChatRef, caller: Caller) -> Reply:
            return await svc.watch(chat, caller, handle, threshold)

        await self._watch_answer(update, act, "Checking the account and taking its baseline "
                                 "audit…", admin=True)  # fmt: skip

    async def on_unwatch(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        args = list(context.args or [])
        if len(args) != 1:
            await self._watch_answer(update, None, "Use: /unwatch HANDLE")
            return

        async def act(svc: WatchService, chat: ChatRef, caller: Caller) -> Reply:
            return await svc.unwatch(chat, caller, args[0])

        await self._watch_answer(update, act, "Working on it…", admin=True)

    async def on_watchlist(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Anyone in the chat may read the watchlist."""

        async def act(svc: WatchService, chat: ChatRef, caller: Caller) -> Reply:
            return await svc.watchlist(chat)

        await self._watch_answer(update, act, "Reading the watchlist…")

    async def on_alerts(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """``/alerts`` shows where and when alerts go; ``/alerts here`` or ``/alerts CHAT_ID``,
        ``/alerts off``/``on`` and ``/alerts every 12h`` (admins) change it."""
        args = list(context.args or [])
        message = update.effective_message
        if message is None:
            return
        if not args:

            async def show(svc: WatchService, chat: ChatRef, caller: Caller) -> Reply:
                return await svc.show_alerts(chat)

            await self._watch_answer(update, show, "Reading the alert settings…")
            return
        if args[0].lower() in ("off", "on", "every"):

            async def option(svc: WatchService, chat: ChatRef, caller: Caller) -> Reply:
                reply = await svc.alerts_option(chat, caller, args)
                return reply if reply is not None else Reply.plain(_ALERTS_USAGE, ok=False)

            await self._watch_answer(update, option, "Working on it…", admin=True)
            return
        target = args[0].lower()
        if len(args) > 1 or not (target == "here" or _is_chat_id(target)):
            await self._watch_answer(update, None, _ALERTS_USAGE)
            return

        async def change(svc: WatchService, chat: ChatRef, caller: Caller) -> Reply:
            to = None if target == "here" else ChatRef(ADAPTER, str(int(target)))
            if caller.is_admin and to is not None and not await self._admin_of(to, message):
                return Reply.plain(_ELSEWHERE, ok=False)
            return await svc.set_alerts(chat, caller, to)

        await self._watch_answer(update, change, "Working on it…", admin=True)

    async def _watch_answer(
        self,
        update: Update,
        act: Callable[[WatchService, ChatRef, Caller], Any] | None,
        ack: str,
        *,
        admin: bool = False,
    ) -> None:
        """Acknowledge at once (``ack``), then edit in the service's answer. ``act`` None: the
        acknowledgement is the whole answer (a usage line). ``admin``: ask Telegram whether the
        caller administers the chat (reading commands skip the call)."""
        message = update.effective_message
        if message is None or not self.addressed(message):
            return
        if self.watches is None:
            await message.reply_text(escape("Watchlists are not available on this bot."))
            return
        bot = self.bot()
        thread = message.message_thread_id if message.is_topic_message else None
        first = await bot.send_message(
            message.chat.id, escape(ack),
            reply_parameters=ReplyParameters(message.message_id, allow_sending_without_reply=True),
            message_thread_id=thread,
        )  # fmt: skip
        if act is None:
            return
        chat = ChatRef(ADAPTER, str(message.chat.id))
        caller = Caller(str(self.sender(message)), await self.is_admin(message) if admin else False)
        try:
            reply: Reply = await act(self.watches, chat, caller)
        except Exception:
            log.exception("watch command failed")
            reply = Reply.plain("Something went wrong; try again in a minute.", ok=False)
        await self.controller.show(Chat(message.chat.id, first.message_id, thread),
                                   Post(reply.render(render.MARKUP)))  # fmt: skip

    async def is_admin(self, message: Message) -> bool:
        """The platform's word: in a private chat the user owns it; an anonymous admin posts as
        the group itself; anyone else is asked about with ``getChatMember``."""
        chat = message.chat
        if chat.type == ChatType.PRIVATE:
            return True
        if message.sender_chat is not None:
            return message.sender_chat.id == chat.id  # a linked channel's post is not an admin
        user = message.from_user
        if user is None:
            return False
        try:
            member = await self.bot().get_chat_member(chat.id, user.id)
        except TelegramError as exc:
            log.warning("admin check failed: %s", exc)
            return False
        return member.status in _ADMIN_STATUSES

    async def _admin_of(self, chat: ChatRef, message: Message) -> bool:
        """Whether the caller also administers ``chat`` (and the bot can see it there), before
        this chat's alerts may be sent to it."""
        if message.sender_chat is not None or message.from_user is None:
            return False  # an anonymous admin cannot be recognised in another chat
        try:
            member = await self.bot().get_chat_member(int(chat.chat_id), message.from_user.id)
        except TelegramError as exc:
            log.info("destination check failed: %s", exc)
            return False
        return member.status in _ADMIN_STATUSES
