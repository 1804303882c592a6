"""A local fake Telegram Bot API server, shaped like https://core.telegram.org/bots/api.

It serves ``/bot{token}/{method}`` (JSON, form-encoded and multipart bodies, as python-telegram-bot
sends them) and ``/file/bot{token}/{file_path}`` on 127.0.0.1 with an ephemeral port, answers with
the documented ``{"ok": true, "result": ...}`` envelope or ``{"ok": false, "error_code",
"description", "parameters"}`` errors, and long-polls ``getUpdates`` for real. Tests drive it
through plain methods: inject updates from users, await what the bot sends (with deadlines, never
by sleeping), force a 429 ``retry_after``, set who administers a group.

Usage::

    async with FakeTelegram() as tg:
        app = ApplicationBuilder().token(tg.token).base_url(f"{tg.base_url}/bot")...
        tg.inject_command(tg.private_chat(alice), alice, "/audit @x.bsky.social")
        sent = await tg.next_sent(alice["id"])
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import html
import html.parser
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, ClientError, ClientSession, ClientTimeout, web

__all__ = [
    "GROUP_ANONYMOUS_BOT",
    "SEND_METHODS",
    "Call",
    "FakeTelegram",
    "FloodLimits",
    "Sent",
    "TelegramApiError",
    "Upload",
    "html_visible_text",
    "parse_html",
]

JSON = dict[str, Any]

#: Methods whose result is a message the bot put in a chat; ``next_sent`` waits on these.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "sendPhoto",
        "sendDocument",
    }
)
MAX_TEXT = 4096
MAX_CAPTION = 1024
#: Tags Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style).
HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "url",
        "file_id",
        "secret_token",
        "description",
        "short_description",
        "name",
        "inline_message_id",
        "certificate",
        "photo",
        "document",
        "thumbnail",
    }
)
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}\b")


#: The user Telegram puts in ``from`` for messages of anonymous group admins.
GROUP_ANONYMOUS_BOT: JSON = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}


class TelegramApiError(Exception):
    """An error answer of the Bot API: ``error_code`` is the HTTP status too."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded in a multipart body; the bytes are kept."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Call:
    """One request the bot made, whatever its outcome."""

    method: str
    params: JSON
    uploads: dict[str, Upload]
    at: float
    status: int = 200


@dataclass
class Sent:
    """A message the bot sent or edited: the method, its parsed parameters and the result."""

    method: str
    chat_id: int
    message: JSON
    params: JSON
    uploads: dict[str, Upload] = field(default_factory=dict)
    at: float = 0.0

    @property
    def text(self) -> str:
        """The text (or caption) as Telegram shows it: HTML markup parsed away."""
        return str(self.message.get("text") or self.message.get("caption") or "")

    @property
    def html(self) -> str:
        """The text (or caption) exactly as the bot sent it, markup included."""
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def message_id(self) -> int:
        return int(self.message["message_id"])

    @property
    def entities(self) -> list[JSON]:
        """Formatting entities of the text (or caption), as Telegram returns them."""
        return list(self.message.get("entities") or self.message.get("caption_entities") or [])

    def entity_texts(self, kind: str) -> list[str]:
        """The visible substrings covered by entities of ``kind`` (``bold``, ``text_link``...)."""
        units = self.text.encode("utf-16-le")
        return [
            units[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
            for e in self.entities
            if e["type"] == kind
        ]

    @property
    def links(self) -> list[tuple[str, str]]:
        """Every ``text_link`` as (visible text, url)."""
        urls = [e["url"] for e in self.entities if e["type"] == "text_link"]
        return list(zip(self.entity_texts("text_link"), urls, strict=True))

    @property
    def buttons(self) -> list[JSON]:
        """Inline keyboard buttons under the message, row after row."""
        markup = self.message.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _HtmlChecker(html.parser.HTMLParser):
    """Parses Telegram-HTML the way the Bot API does: known tags, balanced, escaped text; yields
    the visible text and its entities (offsets and lengths in UTF-16 code units)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[tuple[str, dict[str, str | None], int]] = []
        self.visible: list[str] = []
        self.entities: list[JSON] = []
        self.errors: list[str] = []
        self.units = 0

    def _add(self, text: str) -> None:
        self.visible.append(text)
        self.units += _utf16_len(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag not in HTML_TAGS:
            self.errors.append(f'unsupported start tag "{tag}"')
        elif tag == "a" and not found.get("href"):
            self.errors.append("can't find the URL of a text link")
        elif tag == "span" and found.get("class") != "tg-spoiler":
            self.errors.append('unsupported start tag "span"')
        self.stack.append((tag, found, self.units))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f'unmatched end tag "{tag}"')
            return
        name, attrs, start = self.stack.pop()
        if self.units == start or name not in _ENTITY_TYPES:
            return
        entity: JSON = {"type": _ENTITY_TYPES[name], "offset": start, "length": self.units - start}
        if name == "a":
            url = str(attrs.get("href"))
            if url.startswith("tg://user?id="):
                entity["type"] = "text_mention"
                entity["user"] = {
                    "id": int(url.split("=", 1)[1]),
                    "is_bot": False,
                    "first_name": "",
                }
            else:
                entity["url"] = url
        elif name == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        elif name == "tg-emoji":
            entity["custom_emoji_id"] = attrs.get("emoji-id")
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.errors.append("unescaped < or > in text")
        self._add(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            self.errors.append(f'unsupported entity "&{name};"')
        self._add(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self._add(html.unescape(f"&#{name};"))


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Telegram's HTML parse mode: the visible text and its entities, sorted by offset.

    Raises ``TelegramApiError`` (400 "can't parse entities") where the Bot API would.
    """
    bare_amp = re.search(r"&(?!#\d+;|#x[0-9a-fA-F]+;|[A-Za-z]+;)", text)
    if bare_amp:
        raise TelegramApiError(
            400, f"Bad Request: can't parse entities: unescaped & at byte offset {bare_amp.start()}"
        )
    checker = _HtmlChecker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        checker.errors.append(
            f'can\'t find end tag corresponding to start tag "{checker.stack[-1][0]}"'
        )
    if checker.errors:
        raise TelegramApiError(400, f"Bad Request: can't parse entities: {checker.errors[0]}")
    entities = sorted(checker.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(checker.visible), entities


def html_visible_text(text: str) -> str:
    """The text Telegram shows for an HTML message; raises ``TelegramApiError`` like the API."""
    return parse_html(text)[0]


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _entities(text: str) -> list[JSON]:
    """``bot_command`` and ``mention`` entities, offsets in UTF-16 code units as the API counts."""
    found: list[JSON] = []
    for kind, pattern in (("bot_command", _COMMAND_RE), ("mention", _MENTION_RE)):
        for match in pattern.finditer(text):
            found.append(
                {
                    "type": kind,
                    "offset": _utf16_len(text[: match.start()]),
                    "length": _utf16_len(match.group()),
                }
            )
    return sorted(found, key=lambda e: e["offset"])


def _image_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 1, 1


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's flood control, enforced with 429 ``retry_after`` (messages per seconds).

    Telegram documents about one message a second in a chat, 20 a minute in a group and 30 a
    second overall; bursts beyond are refused with the seconds to wait.
    """

    per_chat: tuple[int, float] = (1, 1.0)
    per_group: tuple[int, float] = (20, 60.0)
    overall: tuple[int, float] = (30, 1.0)


class FakeTelegram:
    """The fake Bot API server and its test-side controls. Use as ``async with``."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_id: int = 777000111,
        bot_username: str = "followaudit_test_bot",
        flood: FloodLimits | None = None,
        port: int = 0,
    ) -> None:
        """``port`` 0: a free one; set: that one (a test can point a bot there first)."""
        self.token = token
        self.port = port
        self.flood = flood
        self.flood_refusals = 0
        self._sends: dict[int | None, collections.deque[float]] = {}
        self.bot: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "FollowAudit",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.base_url = ""
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.answered_callbacks: list[JSON] = []
        self.deleted: list[tuple[int, int]] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: list[JSON] = []
        self.webhook_url = ""
        #: As the API does, the last ``allowed_updates`` a bot sent stays in force (None: all).
        self.allowed_updates: list[str] | None = None
        self._updates: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(4_000_000_001)
        self._messages: dict[tuple[int, int], JSON] = {}
        self._files: dict[str, tuple[JSON, bytes]] = {}
        #: ``file_path`` of every file download the bot made, in order.
        self.downloads: list[str] = []
        self._admins: dict[int, tuple[int | None, set[int]]] = {}
        self._users: dict[int, JSON] = {}
        self._forced: list[tuple[str | None, TelegramApiError]] = []
        self._cursors: dict[int, int] = {}
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._delivery: asyncio.Task[None] | None = None
        self.webhook_secret: str | None = None
        #: Webhook mode: (update_id, HTTP status or 0 for a connection error) per attempt.
        self.webhook_deliveries: list[tuple[int, int]] = []

    # ----------------------------------------------------------------- lifetime
    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        self._notify()
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
        if self._runner is not None:
            await self._runner.cleanup()

    # ----------------------------------------------------------------- test side: people
    def user(self, user_id: int, first_name: str, username: str | None = None) -> JSON:
        """A human user; remembered so ``getChatMember`` can name them."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        self._users[user_id] = user
        return user

    @staticmethod
    def private_chat(user: Mapping[str, Any]) -> JSON:
        chat: JSON = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        if "username" in user:
            chat["username"] = user["username"]
        return chat

    @staticmethod
    def group_chat(chat_id: int, title: str, *, supergroup: bool = True) -> JSON:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        return {"id": chat_id, "type": "supergroup" if supergroup else "group", "title": title}

    def set_admins(
        self, chat_id: int, admin_ids: Iterable[int], creator: int | None = None
    ) -> None:
        """Who administers a group, for ``getChatMember`` and ``getChatAdministrators``."""
        self._admins[chat_id] = (creator, set(admin_ids))

    # ----------------------------------------------------------------- test side: updates
    def inject_update(self, update: JSON) -> JSON:
        """Queue a raw update (``update_id`` assigned) for the next ``getUpdates``."""
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._notify()
        return update

    def inject_message(
        self,
        chat: Mapping[str, Any],
        user: Mapping[str, Any],
        text: str | None = None,
        *,
        entities: list[JSON] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> JSON:
        """A message from ``user`` in ``chat``; commands and mentions get their entities."""
        message = self._new_message(chat, dict(user))
        if text is not None:
            message["text"] = text
            found = _entities(text) if entities is None else entities
            if found:
                message["entities"] = found
        message.update(extra or {})
        self._messages[(int(chat["id"]), message["message_id"])] = message
        return self.inject_update({"message": message})

    def inject_command(self, chat: Mapping[str, Any], user: Mapping[str, Any], text: str) -> JSON:
        """A ``/command args`` message (its ``bot_command`` entity comes from the text)."""
        if not text.startswith("/"):
            raise ValueError("a command starts with /")
        return self.inject_message(chat, user, text)

    def inject_anonymous_admin_command(self, group: Mapping[str, Any], text: str) -> JSON:
        """A command from an anonymous group admin: sent by ``GroupAnonymousBot`` on behalf of
        the group (``sender_chat``), as Telegram delivers it; ``getChatMember`` on that bot
        answers ``administrator`` with ``is_anonymous``."""
        return self.inject_message(
            group, GROUP_ANONYMOUS_BOT, text, extra={"sender_chat": dict(group)}
        )

    def inject_document(
        self,
        chat: Mapping[str, Any],
        user: Mapping[str, Any],
        file_name: str,
        data: bytes,
        *,
        mime_type: str = "text/csv",
        caption: str | None = None,
    ) -> JSON:
        """A document message; its bytes are served by ``getFile`` and the file route."""
        document = self._store_file(data, "documents", file_name)
        document.update({"file_name": file_name, "mime_type": mime_type})
        extra: JSON = {"document": document}
        if caption is not None:
            extra["caption"] = caption
            found = _entities(caption)
            if found:
                extra["caption_entities"] = found
        return self.inject_message(chat, user, None, entities=[], extra=extra)

    def inject_callback(
        self, chat: Mapping[str, Any], user: Mapping[str, Any], message_id: int, data: str
    ) -> JSON:
        """A press on an inline button ``data`` under the bot's message ``message_id``."""
        message = self._messages.get((int(chat["id"]), message_id))
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat['id']}")
        query = {
            "id": str(next(self._query_ids)),
            "from": dict(user),
            "message": message,
            "chat_instance": str(abs(int(chat["id"]))),
            "data": data,
        }
        return self.inject_update({"callback_query": query})

    # ----------------------------------------------------------------- test side: faults
    def fail_next(
        self,
        method: str | None = None,
        *,
        error_code: int = 429,
        retry_after: int | None = 1,
        description: str | None = None,
    ) -> None:
        """The next call (of ``method``, or any but ``getUpdates``) fails with this error."""
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if error_code == 429
                else "Bad Request"
            )
        self._forced.append((method, TelegramApiError(error_code, description, retry_after)))

    # ----------------------------------------------------------------- test side: awaiting
    async def wait_for(self, predicate: Callable[[], bool], deadline: float = 5.0) -> None:
        """Wait until ``predicate()`` holds; ``TimeoutError`` after ``deadline`` seconds."""
        async with asyncio.timeout(deadline):
            while not predicate():
                await self._changed.wait()

    async def next_sent(
        self, chat_id: int, *, methods: Iterable[str] = SEND_METHODS, deadline: float = 5.0
    ) -> Sent:
        """The next message the bot sent or edited in ``chat_id`` that this test has not seen."""
        wanted = frozenset(methods)
        found: list[Sent] = []

        def ready() -> bool:
            start = self._cursors.get(chat_id, 0)
            for index in range(start, len(self.sent)):
                item = self.sent[index]
                if item.chat_id == chat_id:
                    self._cursors[chat_id] = index + 1
                    if item.method in wanted:
                        found.append(item)
                        return True
            self._cursors[chat_id] = len(self.sent)
            return False

        await self.wait_for(ready, deadline)
        return found[0]

    async def next_callback_answer(self, query_id: str, deadline: float = 5.0) -> JSON:
        """The bot's ``answerCallbackQuery`` for ``query_id``."""

        def answered() -> bool:
            return any(a["callback_query_id"] == query_id for a in self.answered_callbacks)

        await self.wait_for(answered, deadline)
        return next(a for a in self.answered_callbacks if a["callback_query_id"] == query_id)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    def message(self, chat_id: int, message_id: int) -> JSON:
        """A message as it stands now (after the bot's edits)."""
        return self._messages[(chat_id, message_id)]

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id][1]

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    # ----------------------------------------------------------------- internals
    def _notify(self) -> None:
        """Wake every waiter; each re-checks its own condition."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _new_message(self, chat: Mapping[str, Any], sender: JSON) -> JSON:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": dict(chat),
            "from": sender,
        }

    def _store_file(self, data: bytes, folder: str, name: str) -> JSON:
        number = next(self._file_ids)
        file_id = f"FILE{number:06d}"
        suffix = name.rsplit(".", 1)[-1] if "." in name else "bin"
        meta: JSON = {
            "file_id": file_id,
            "file_unique_id": f"U{number:06d}",
            "file_size": len(data),
            "file_path": f"{folder}/file_{number}.{suffix}",
        }
        self._files[file_id] = (meta, data)
        return {k: v for k, v in meta.items() if k != "file_path"}

    async def _parse(self, request: web.Request) -> tuple[JSON, dict[str, Upload]]:
        uploads: dict[str, Upload] = {}
        raw: dict[str, str] = {}
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            return dict(body), uploads
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue  # nested multipart: neither API sends it
                if part.filename is not None:
                    data = await part.read()
                    uploads[part.name or ""] = Upload(
                        part.name or "",
                        part.filename or "",
                        part.headers.get("Content-Type", "application/octet-stream"),
                        bytes(data),
                    )
                else:
                    raw[part.name or ""] = await part.text()
        else:
            raw = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
            raw.update(request.query)
        params: JSON = {}
        for key, value in raw.items():
            if key in _STRING_FIELDS:
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                name = value.removeprefix("attach://")
                if name in uploads:
                    uploads[key] = uploads.pop(name)
        return params, uploads

    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response(TelegramApiError(401, "Unauthorized").body(), status=401)
        params, uploads = await self._parse(request)
        call = Call(method, params, uploads, time.monotonic())
        self.calls.append(call)
        try:
            self._raise_forced(method)
            if self.flood is not None and method in SEND_METHODS:
                self._check_flood(self.flood, params)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise TelegramApiError(404, "Not Found")
            result = await handler(params, uploads)
        except TelegramApiError as exc:
            call.status = exc.error_code
            self._notify()
            return web.json_response(exc.body(), status=exc.error_code)
        self._notify()
        return web.json_response({"ok": True, "result": result})

    def _check_flood(self, flood: FloodLimits, params: JSON) -> None:
        """Refuse a send over any window with 429, as Telegram's flood control does."""
        now = time.monotonic()
        try:
            chat_id: int | None = int(params.get("chat_id") or 0)
        except (TypeError, ValueError):
            chat_id = 0
        chat_limit = flood.per_group if chat_id is not None and chat_id < 0 else flood.per_chat
        waits = []
        for key, (count, window) in ((chat_id, chat_limit), (None, flood.overall)):
            sent = self._sends.setdefault(key, collections.deque())
            while sent and sent[0] <= now - window:
                sent.popleft()
            if len(sent) >= count:
                waits.append(sent[0] + window - now)
        if waits:
            self.flood_refusals += 1
            retry_after = max(1, math.ceil(max(waits)))
            raise TelegramApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after
            )
        self._sends[chat_id].append(now)
        self._sends[None].append(now)

    def _raise_forced(self, method: str) -> None:
        for index, (wanted, error) in enumerate(self._forced):
            if wanted == method or (wanted is None and method != "getUpdates"):
                del self._forced[index]
                raise error

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["file_path"]
        self.downloads.append(path)
        for meta, data in self._files.values():
            if meta["file_path"] == path:
                return web.Response(body=data, content_type="application/octet-stream")
        return web.json_response(TelegramApiError(404, "Not Found").body(), status=404)

    def _chat_of(self, params: JSON) -> JSON:
        chat_id = params.get("chat_id")
        if chat_id is None:
            raise TelegramApiError(400, "Bad Request: chat_id is empty")
        try:
            chat_id = int(chat_id)
        except (TypeError, ValueError):
            raise TelegramApiError(400, "Bad Request: chat not found") from None
        if chat_id > 0:
            user = self._users.get(chat_id, {"id": chat_id, "first_name": "User"})
            return self.private_chat(user)
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}

    def _check_text(self, text: str, params: JSON, limit: int, what: str) -> tuple[str, list[JSON]]:
        """Visible text and entities of a text or caption; the API's errors when it is wrong."""
        mode = str(params.get("parse_mode") or "")
        if mode == "HTML":
            visible, entities = parse_html(text)
        elif mode:
            raise TelegramApiError(400, f"Bad Request: unsupported parse_mode {mode} in this fake")
        else:
            key = "entities" if what == "message" else "caption_entities"
            visible, entities = text, list(params.get(key) or [])
        if _utf16_len(visible) > limit:
            raise TelegramApiError(400, f"Bad Request: {what} is too long")
        if what == "message" and not visible.strip():
            raise TelegramApiError(400, "Bad Request: message text is empty")
        return visible, entities

    def _set_text(self, message: JSON, params: JSON) -> None:
        text, entities = self._check_text(str(params.get("text", "")), params, MAX_TEXT, "message")
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities

    def _record(self, method: str, message: JSON, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat_id = int(message["chat"]["id"])
        self._messages[(chat_id, int(message["message_id"]))] = message
        self.sent.append(Sent(method, chat_id, message, params, uploads, time.monotonic()))
        return message

    @staticmethod
    def _set_markup(message: JSON, params: JSON) -> None:
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]

    @staticmethod
    def _not_modified(old: JSON, new: JSON) -> None:
        keys = ("text", "entities", "caption", "caption_entities", "reply_markup")
        if all(old.get(k) == new.get(k) for k in keys):
            raise TelegramApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup of the "
                "message",
            )

    def _editable(self, params: JSON) -> JSON:
        if "inline_message_id" in params:
            raise TelegramApiError(400, "Bad Request: inline messages are not supported here")
        chat_id = int(self._chat_of(params)["id"])
        old = self._messages.get((chat_id, int(params.get("message_id") or 0)))
        if old is None or old.get("from", {}).get("id") != self.bot["id"]:
            raise TelegramApiError(400, "Bad Request: message to edit not found")
        return old

    def _outgoing(self, params: JSON) -> JSON:
        message = self._new_message(self._chat_of(params), self.bot)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    def _caption(self, message: JSON, params: JSON) -> None:
        caption = params.get("caption")
        message.pop("caption", None)
        message.pop("caption_entities", None)
        if caption:
            text, entities = self._check_text(caption, params, MAX_CAPTION, "message caption")
            message["caption"] = text
            if entities:
                message["caption_entities"] = entities

    # ----------------------------------------------------------------- API methods
    async def _api_getMe(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        return self.bot

    async def _api_deleteWebhook(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _api_setWebhook(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        url = str(params.get("url", ""))
        if url and not url.startswith(("http://", "https://")):
            raise TelegramApiError(400, "Bad Request: bad webhook: invalid URL")
        self.webhook_url = url
        self.webhook_secret = params.get("secret_token") or None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if url and (self._delivery is None or self._delivery.done()):
            self._delivery = asyncio.get_running_loop().create_task(self._deliver())
        return True

    async def _deliver(self) -> None:
        """Webhook mode: POST each pending update in order until the bot answers 2xx.

        Unlike Telegram (HTTPS on ports 443, 80, 88 or 8443 only) any loopback URL is accepted.
        """
        timeout = ClientTimeout(total=10)
        async with ClientSession(timeout=timeout) as session:
            while self.webhook_url and not self._closing:
                if not self._updates:
                    await self._changed.wait()
                    continue
                update = self._updates[0]
                headers = {}
                if self.webhook_secret:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
                try:
                    async with session.post(self.webhook_url, json=update, headers=headers) as r:
                        status = r.status
                except (ClientError, TimeoutError):
                    status = 0
                self.webhook_deliveries.append((update["update_id"], status))
                if 200 <= status < 300:
                    if self._updates and self._updates[0] is update:
                        self._updates.pop(0)
                    self._notify()
                    continue
                # Telegram retries later; here: on the next change, or after a short pause.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), 0.2)

    async def _api_getUpdates(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        if self.webhook_url:
            raise TelegramApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if offset:
            # Confirming: every update below the offset is forgotten, as the API does.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

        def available() -> bool:
            return self._closing or any(u["update_id"] >= offset for u in self._updates)

        if timeout and not available():
            try:
                async with asyncio.timeout(timeout):
                    while not available():
                        await self._changed.wait()
            except TimeoutError:
                pass
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self.allowed_updates = list(allowed) or None
        fresh = [u for u in self._updates if u["update_id"] >= offset]
        if self.allowed_updates is not None:
            fresh = [u for u in fresh if set(u) - {"update_id"} <= set(self.allowed_updates)]
        return fresh[:limit]

    async def _api_setMyCommands(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        self.commands = list(params.get("commands") or [])
        return True

    async def _api_sendMessage(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        message = self._outgoing(params)
        self._set_text(message, params)
        return self._record("sendMessage", message, params, uploads)

    async def _api_editMessageText(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        old = self._editable(params)
        if "text" not in old:
            raise TelegramApiError(400, "Bad Request: there is no text in the message to edit")
        message = {**old, "edit_date": int(time.time())}
        self._set_text(message, params)
        self._set_markup(message, params)
        self._not_modified(old, message)
        return self._record("editMessageText", message, params, uploads)

    async def _api_editMessageCaption(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        old = self._editable(params)
        message = {**old, "edit_date": int(time.time())}
        self._caption(message, params)
        self._set_markup(message, params)
        self._not_modified(old, message)
        return self._record("editMessageCaption", message, params, uploads)

    async def _api_editMessageReplyMarkup(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        old = self._editable(params)
        message = {**old, "edit_date": int(time.time())}
        self._set_markup(message, params)
        self._not_modified(old, message)
        return self._record("editMessageReplyMarkup", message, params, uploads)

    async def _api_deleteMessage(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        chat_id = int(self._chat_of(params)["id"])
        if self._messages.pop((chat_id, int(params.get("message_id") or 0)), None) is None:
            raise TelegramApiError(400, "Bad Request: message to delete not found")
        self.deleted.append((chat_id, int(params["message_id"])))
        return True

    async def _api_sendChatAction(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        self._chat_of(params)
        self.chat_actions.append((int(params["chat_id"]), str(params.get("action"))))
        return True

    async def _api_getMyCommands(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        return self.commands

    async def _api_deleteMyCommands(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        self.commands = []
        return True

    async def _api_sendPhoto(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        upload = uploads.get("photo")
        if upload is None:
            raise TelegramApiError(400, "Bad Request: there is no photo in the request")
        message = self._outgoing(params)
        width, height = _image_size(upload.data)
        size = self._store_file(upload.data, "photos", upload.filename or "photo.jpg")
        message["photo"] = [{**size, "width": width, "height": height}]
        self._caption(message, params)
        return self._record("sendPhoto", message, params, uploads)

    async def _api_sendDocument(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        upload = uploads.get("document")
        if upload is None:
            raise TelegramApiError(400, "Bad Request: there is no document in the request")
        message = self._outgoing(params)
        document = self._store_file(upload.data, "documents", upload.filename or "file")
        document.update({"file_name": upload.filename, "mime_type": upload.content_type})
        message["document"] = document
        self._caption(message, params)
        return self._record("sendDocument", message, params, uploads)

    async def _api_answerCallbackQuery(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        if not params.get("callback_query_id"):
            raise TelegramApiError(400, "Bad Request: query is too old or query ID is invalid")
        self.answered_callbacks.append(params)
        return True

    async def _api_getFile(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise TelegramApiError(400, "Bad Request: invalid file_id")
        return stored[0]

    @staticmethod
    def _admin_rights() -> JSON:
        """An ``administrator`` ChatMember's rights, every field PTB requires present."""
        rights: JSON = {"status": "administrator"}
        for name in (
            "can_be_edited",
            "can_post_stories",
            "can_edit_stories",
            "can_delete_stories",
            "can_manage_topics",
            "can_promote_members",
        ):
            rights[name] = False
        for name in (
            "can_manage_chat",
            "can_delete_messages",
            "can_manage_video_chats",
            "can_restrict_members",
            "can_change_info",
            "can_invite_users",
            "can_pin_messages",
        ):
            rights[name] = True
        return rights

    def _member(self, chat_id: int, user_id: int) -> JSON:
        user = self._users.get(user_id, {"id": user_id, "is_bot": False, "first_name": "User"})
        creator, admins = self._admins.get(chat_id, (None, set()))
        if user_id == GROUP_ANONYMOUS_BOT["id"] and chat_id < 0:
            return {**self._admin_rights(), "user": GROUP_ANONYMOUS_BOT, "is_anonymous": True}
        if user_id == creator:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in admins:
            return {**self._admin_rights(), "user": user, "is_anonymous": False}
        return {"status": "member", "user": user}

    async def _api_getChatMember(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        chat_id = int(self._chat_of(params)["id"])
        return self._member(chat_id, int(params.get("user_id") or 0))

    async def _api_getChatAdministrators(self, params: JSON, uploads: dict[str, Upload]) -> Any:
        chat_id = int(self._chat_of(params)["id"])
        creator, admins = self._admins.get(chat_id, (None, set()))
        ids = ([creator] if creator is not None else []) + sorted(admins - {creator})
        return [self._member(chat_id, user_id) for user_id in ids]
