"""A local fake Discord: REST under ``/api/v10`` and a gateway websocket, shaped like
https://discord.com/developers/docs.

REST: ``GET /gateway/bot``, ``GET /users/@me``, ``GET /oauth2/applications/@me``, command sync
(``PUT /applications/{app}/commands`` and ``.../guilds/{guild}/commands``), interaction callbacks
(types 4, 5, 6, 7, 8, 9, JSON or multipart with files), ``@original`` GET/PATCH/DELETE, follow-ups,
``POST /channels/{id}/messages`` with attachments; errors as ``{"message", "code"}``; message
bodies are validated against Discord's limits (content 2,000; embeds: title 256, description
4,096, 25 fields, name 256, value 1,024, footer 2,048, author 256, 6,000 in all, 10 embeds).
Gateway: HELLO, heartbeat/ACK, IDENTIFY then READY and GUILD_CREATE, RESUME with replay, and
dispatches with sequence numbers, as plain JSON text frames (the ``compress`` query is ignored).

Tests drive it through plain methods: dispatch slash commands, autocomplete and button presses as
INTERACTION_CREATE, then await (with a deadline, never by sleeping) what the bot answered.

Usage::

    async with FakeDiscord() as fake:
        guild = fake.add_guild("Team")
        with discord_endpoints(DiscordEndpoints(fake.api_base, fake.gateway_url)):
            ...  # bot.login(fake.token); create_task(bot.connect()); bot.wait_until_ready()
            call = await fake.command("audit", {"handle": "x"}, user=fake.user(1, "a"),
                                      guild=guild)
            deferral = await fake.next_reply(call)   # callback type 5
            report = await fake.next_reply(call)     # PATCH @original: embeds, attachments
            await fake.press(fake.original(call), "more", user=..., guild=guild)

Pass ``guild_ready_timeout`` small (e.g. 0.1) to the discord.py client: READY otherwise waits
two seconds after the last GUILD_CREATE, as it does against Discord.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

__all__ = [
    "ADMINISTRATOR",
    "DEFAULT_PERMISSIONS",
    "MANAGE_GUILD",
    "DiscordApiError",
    "FakeDiscord",
    "Interaction",
    "Reply",
    "Upload",
    "check_message_limits",
]

JSON = dict[str, Any]
DISCORD_EPOCH_MS = 1_420_070_400_000
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
#: View channel, send messages, embed links, attach files, read history, use application commands.
DEFAULT_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31)
EPHEMERAL = 1 << 6
LOADING = 1 << 7
LIMITS = {
    "content": 2000,
    "embeds": 10,
    "title": 256,
    "description": 4096,
    "fields": 25,
    "field_name": 256,
    "field_value": 1024,
    "footer": 2048,
    "author": 256,
    "total": 6000,
}
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


class DiscordApiError(Exception):
    """A Discord error answer: HTTP status plus the JSON error ``code`` and ``message``."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> JSON:
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def _form_error(path: str, message: str) -> DiscordApiError:
    return DiscordApiError(
        400,
        50035,
        "Invalid Form Body",
        {path: {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": message}]}},
    )


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded in a multipart body; the bytes are kept."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class Reply:
    """Something the bot did in answer: a callback, an edit, a follow-up or a channel message."""

    kind: str  # "callback", "edit", "followup", "delete", "channel"
    channel_id: int
    payload: JSON
    uploads: list[Upload] = field(default_factory=list)
    message: JSON | None = None
    token: str | None = None
    callback_type: int | None = None
    at: float = 0.0
    #: Who this message would notify: "everyone", "user:<id>", "role:<id>".
    pings: frozenset[str] = frozenset()

    @property
    def content(self) -> str:
        return str((self.message or self.payload).get("content") or "")

    @property
    def embeds(self) -> list[JSON]:
        return list((self.message or self.payload).get("embeds") or [])

    @property
    def ephemeral(self) -> bool:
        return bool(int((self.message or self.payload).get("flags") or 0) & EPHEMERAL)

    @property
    def attachments(self) -> list[JSON]:
        return list((self.message or {}).get("attachments") or [])

    @property
    def custom_ids(self) -> list[str]:
        """The ``custom_id`` of every component (buttons) on the message, in order."""
        rows = (self.message or self.payload).get("components") or []
        found: list[str] = []
        for row in rows:
            for item in row.get("components", []):
                if "custom_id" in item:
                    found.append(item["custom_id"])
        return found


@dataclass
class Interaction:
    """An interaction the fake dispatched; ``token`` keys its replies."""

    id: int
    token: str
    payload: JSON
    created: float
    channel_id: int
    callback_type: int | None = None
    original_id: int | None = None
    expired: bool = False


@dataclass
class _Session:
    session_id: str
    ws: web.WebSocketResponse | None
    seq: int = 0
    sent: list[JSON] = field(default_factory=list)
    intents: int = 0


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON answer with Discord's exact ``Content-Type: application/json`` (no charset)."""
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _pings(content: str, allowed: JSON | None, reply_user: int | None = None) -> frozenset[str]:
    """Whom a message notifies under Discord's ``allowed_mentions`` rules (absent: all)."""
    parse = {"everyone", "users", "roles"} if allowed is None else set(allowed.get("parse", []))
    users = {str(u) for u in (allowed or {}).get("users", [])}
    roles = {str(r) for r in (allowed or {}).get("roles", [])}
    found: set[str] = set()
    if "everyone" in parse and ("@everyone" in content or "@here" in content):
        found.add("everyone")
    for uid in _USER_MENTION.findall(content):
        if "users" in parse or uid in users:
            found.add(f"user:{uid}")
    for rid in _ROLE_MENTION.findall(content):
        if "roles" in parse or rid in roles:
            found.add(f"role:{rid}")
    if reply_user is not None and (allowed is None or allowed.get("replied_user", True)):
        found.add(f"user:{reply_user}")
    return frozenset(found)


def check_message_limits(payload: JSON) -> None:
    """Reject what Discord rejects, with its ``50035 Invalid Form Body``."""
    content = payload.get("content")
    if content is not None and len(str(content)) > LIMITS["content"]:
        raise _form_error("content", "Must be 2000 or fewer in length.")
    embeds = payload.get("embeds") or []
    if len(embeds) > LIMITS["embeds"]:
        raise _form_error("embeds", "Must be 10 or fewer in length.")
    total = 0
    for n, embed in enumerate(embeds):
        sized = {
            "title": embed.get("title") or "",
            "description": embed.get("description") or "",
            "footer": (embed.get("footer") or {}).get("text") or "",
            "author": (embed.get("author") or {}).get("name") or "",
        }
        for key, text in sized.items():
            if len(text) > LIMITS[key]:
                raise _form_error(f"embeds.{n}.{key}", f"Must be {LIMITS[key]} or fewer in length.")
            total += len(text)
        fields = embed.get("fields") or []
        if len(fields) > LIMITS["fields"]:
            raise _form_error(f"embeds.{n}.fields", "Must be 25 or fewer in length.")
        for i, item in enumerate(fields):
            name, value = str(item.get("name", "")), str(item.get("value", ""))
            if not name or not value:
                raise _form_error(f"embeds.{n}.fields.{i}", "This field is required")
            if len(name) > LIMITS["field_name"] or len(value) > LIMITS["field_value"]:
                raise _form_error(f"embeds.{n}.fields.{i}", "Must be fewer in length.")
            total += len(name) + len(value)
    if total > LIMITS["total"]:
        raise _form_error("embeds", "Embed size exceeds maximum size of 6000")


class FakeDiscord:
    """The fake Discord REST API and gateway, with test-side controls. Use as ``async with``."""

    def __init__(
        self,
        token: str = "FAKE.discord.token",
        *,
        app_id: int = 900000000000000001,
        heartbeat_interval_ms: int = 41_250,
        callback_deadline: float = 3.0,
    ) -> None:
        self.token = token
        self.app_id = app_id
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.callback_deadline = callback_deadline
        self._ids = itertools.count(1)
        self.bot_user: JSON = self.user(app_id, "FollowAudit", bot=True)
        self.owner: JSON = self.user(self._snowflake(), "owner")
        self.api_base = ""
        self.gateway_url = ""
        self.guilds: dict[int, JSON] = {}
        self.channels: dict[int, JSON] = {}
        self.commands: dict[int | None, list[JSON]] = {}
        self.interactions: dict[str, Interaction] = {}
        self.replies: list[Reply] = []
        self.requests: list[tuple[str, str, int]] = []
        self.gateway_received: list[JSON] = []
        self.gateway_queries: list[dict[str, str]] = []
        self.messages: dict[int, JSON] = {}
        self.files: dict[int, tuple[JSON, bytes]] = {}
        self._sessions: dict[str, _Session] = {}
        self._active: _Session | None = None
        self._ready_sessions: set[str] = set()
        self._forced: list[tuple[str, int, JSON, dict[str, str]]] = []
        self._cursors: dict[tuple[str, Any], int] = {}
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    # ----------------------------------------------------------------- lifetime
    async def __aenter__(self) -> FakeDiscord:
        app = web.Application(client_max_size=30 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{attachment_id}/{filename}", self._attachment)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.api_base = f"http://{host}:{port}/api/v10"
        self.gateway_url = f"ws://{host}:{port}/gateway"
        self._root = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"shutting down")
        if self._runner is not None:
            await self._runner.cleanup()

    # ----------------------------------------------------------------- test side: world
    def _snowflake(self) -> int:
        millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (millis << 22) | (next(self._ids) & 0xFFF)

    @staticmethod
    def user(user_id: int, name: str, *, bot: bool = False, global_name: str | None = None) -> JSON:
        user: JSON = {
            "id": str(user_id),
            "username": name,
            "discriminator": "0",
            "global_name": global_name,
            "avatar": None,
            "bot": bot,
            "public_flags": 0,
        }
        if bot:
            user["flags"] = 0
            user["verified"] = True
        return user

    def add_guild(self, name: str = "Test server", *, channel_name: str = "general") -> JSON:
        """A server the bot is in, with one text channel; sent in READY and GUILD_CREATE."""
        guild_id = self._snowflake()
        channel = {
            "id": str(self._snowflake()),
            "type": 0,
            "name": channel_name,
            "position": 0,
            "permission_overwrites": [],
            "guild_id": str(guild_id),
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
        }
        guild: JSON = {
            "id": str(guild_id),
            "name": name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": self.owner["id"],
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "features": [],
            "roles": [
                {
                    "id": str(guild_id),
                    "name": "@everyone",
                    "permissions": str(DEFAULT_PERMISSIONS),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                    "icon": None,
                    "unicode_emoji": None,
                }
            ],
            "emojis": [],
            "stickers": [],
            "channels": [channel],
            "threads": [],
            "members": [
                {
                    "user": self.bot_user,
                    "roles": [],
                    "joined_at": _now_iso(),
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                }
            ],
            "member_count": 2,
            "large": False,
            "unavailable": False,
            "joined_at": _now_iso(),
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "premium_progress_bar_enabled": False,
            "max_members": 500000,
            "application_id": None,
        }
        self.guilds[guild_id] = guild
        self.channels[int(str(channel["id"]))] = channel
        return guild

    def dm_channel(self, user: Mapping[str, Any]) -> JSON:
        """The DM channel between the bot and ``user``."""
        for channel in self.channels.values():
            if channel["type"] == 1 and channel["recipients"][0]["id"] == user["id"]:
                return channel
        channel = {
            "id": str(self._snowflake()),
            "type": 1,
            "recipients": [dict(user)],
            "last_message_id": None,
            "flags": 0,
        }
        self.channels[int(channel["id"])] = channel
        return channel

    def add_attachment(self, filename: str, data: bytes, content_type: str = "text/csv") -> JSON:
        """A user's upload (for an ATTACHMENT option), served from the fake CDN."""
        return self._store_attachment(filename, data, content_type)

    # ----------------------------------------------------------------- test side: faults, time
    def fail_next(
        self,
        path_contains: str,
        *,
        status: int = 429,
        retry_after: float = 0.05,
        code: int = 0,
        message: str = "You are being rate limited.",
    ) -> None:
        """The next REST call whose path contains ``path_contains`` fails (429 by default)."""
        if status == 429:
            body: JSON = {"message": message, "retry_after": retry_after, "global": False}
            headers = {
                "Via": "1.1 google",
                "Retry-After": str(retry_after),
                "X-RateLimit-Scope": "user",
            }
        else:
            body, headers = {"message": message, "code": code}, {}
        self._forced.append((path_contains, status, body, headers))

    def expire(self, token: str) -> None:
        """The interaction token outlived its fifteen minutes: webhook calls now get 401."""
        self.interactions[token].expired = True

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the live gateway socket as Discord does on trouble; the client should RESUME."""
        assert self._active is not None and self._active.ws is not None
        await self._active.ws.close(code=code, message=b"fake drop")

    # ----------------------------------------------------------------- test side: interactions
    def _member(self, user: Mapping[str, Any], permissions: int) -> JSON:
        return {
            "user": dict(user),
            "roles": [],
            "joined_at": _now_iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "communication_disabled_until": None,
            "permissions": str(permissions),
        }

    async def dispatch_interaction(
        self,
        kind: int,
        data: JSON,
        *,
        user: Mapping[str, Any],
        guild: Mapping[str, Any] | None = None,
        channel: Mapping[str, Any] | None = None,
        permissions: int = DEFAULT_PERMISSIONS,
        message: JSON | None = None,
    ) -> Interaction:
        """Send an INTERACTION_CREATE of any ``kind`` (2 command, 3 component, 4 autocomplete)."""
        if channel is None:
            channel = guild["channels"][0] if guild is not None else self.dm_channel(user)
        interaction_id = self._snowflake()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(24)
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.app_id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": channel["id"],
            "channel": dict(channel),
            "locale": "en-US",
            "entitlements": [],
            "app_permissions": str(DEFAULT_PERMISSIONS),
            "attachment_size_limit": 10 * 1024**2,
        }
        if guild is not None:
            payload.update(
                guild_id=guild["id"],
                guild_locale="en-US",
                context=0,
                member=self._member(user, permissions),
                authorizing_integration_owners={"0": guild["id"]},
            )
        else:
            payload.update(
                user=dict(user),
                context=1,
                authorizing_integration_owners={"0": guild["id"] if guild else "0"},
            )
        if message is not None:
            payload["message"] = message
        record = Interaction(interaction_id, token, payload, time.monotonic(), int(channel["id"]))
        if message is not None:
            record.original_id = int(message["id"])
        self.interactions[token] = record
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    def _options(self, options: Mapping[str, Any], focused: str | None) -> tuple[list[JSON], JSON]:
        built: list[JSON] = []
        resolved: JSON = {}
        for name, value in options.items():
            option: JSON = {"name": name, "value": value}
            if isinstance(value, bool):
                option["type"] = 5
            elif isinstance(value, int):
                option["type"] = 4
            elif isinstance(value, float):
                option["type"] = 10
            elif isinstance(value, dict) and "filename" in value:
                option.update(type=11, value=value["id"])
                resolved.setdefault("attachments", {})[value["id"]] = value
            else:
                option["type"] = 3
            if name == focused:
                option["focused"] = True
            built.append(option)
        return built, resolved

    def _command_data(
        self,
        name: str,
        options: Mapping[str, Any],
        guild: Mapping[str, Any] | None,
        focused: str | None = None,
        command_type: int = 1,
    ) -> JSON:
        guild_id = int(guild["id"]) if guild is not None else None

        def same(command: JSON) -> bool:
            return bool(command["name"] == name and command.get("type", 1) == command_type)

        registered = [c for c in self.commands.get(guild_id, []) if same(c)]
        in_guild = bool(registered)
        registered = registered or [c for c in self.commands.get(None, []) if same(c)]
        command_id = registered[0]["id"] if registered else str(self._snowflake())
        built, resolved = self._options(options, focused)
        data: JSON = {"id": command_id, "name": name, "type": command_type, "options": built}
        if resolved:
            data["resolved"] = resolved
        if in_guild and guild is not None:
            data["guild_id"] = guild["id"]
        return data

    async def command(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: Mapping[str, Any],
        guild: Mapping[str, Any] | None = None,
        permissions: int = DEFAULT_PERMISSIONS,
    ) -> Interaction:
        """A slash command (``APPLICATION_COMMAND``) in ``guild``'s first channel, or in a DM."""
        data = self._command_data(name, options or {}, guild)
        return await self.dispatch_interaction(
            2, data, user=user, guild=guild, permissions=permissions
        )

    async def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        user: Mapping[str, Any],
        guild: Mapping[str, Any] | None = None,
    ) -> Interaction:
        """An ``APPLICATION_COMMAND_AUTOCOMPLETE`` while the user types option ``focused``."""
        data = self._command_data(name, options, guild, focused)
        return await self.dispatch_interaction(4, data, user=user, guild=guild)

    def user_message(
        self,
        channel: Mapping[str, Any],
        user: Mapping[str, Any],
        content: str = "",
        attachments: Iterable[JSON] = (),
    ) -> JSON:
        """A message a user posted (e.g. an export file), the target of a message command."""
        message_id = self._snowflake()
        message: JSON = {
            "id": str(message_id),
            "channel_id": str(channel["id"]),
            "type": 0,
            "content": content,
            "author": dict(user),
            "attachments": list(attachments),
            "embeds": [],
            "components": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "flags": 0,
        }
        if "guild_id" in channel:
            message["guild_id"] = channel["guild_id"]
        self.messages[message_id] = message
        return message

    async def message_command(
        self,
        name: str,
        target: JSON,
        *,
        user: Mapping[str, Any],
        guild: Mapping[str, Any] | None = None,
        permissions: int = DEFAULT_PERMISSIONS,
    ) -> Interaction:
        """A message context-menu command (``APPLICATION_COMMAND`` of type 3) on ``target``."""
        data = self._command_data(name, {}, guild, command_type=3)
        data.pop("options")
        data["target_id"] = target["id"]
        data["resolved"] = {"messages": {target["id"]: target}}
        channel = self.channels[int(target["channel_id"])]
        return await self.dispatch_interaction(
            2, data, user=user, guild=guild, channel=channel, permissions=permissions
        )

    async def press(
        self,
        message: JSON,
        custom_id: str,
        *,
        user: Mapping[str, Any],
        guild: Mapping[str, Any] | None = None,
        permissions: int = DEFAULT_PERMISSIONS,
    ) -> Interaction:
        """A button press (``MESSAGE_COMPONENT``) on the bot's ``message``."""
        channel = self.channels[int(message["channel_id"])]
        data = {"custom_id": custom_id, "component_type": 2}
        return await self.dispatch_interaction(
            3,
            data,
            user=user,
            guild=guild,
            channel=channel,
            permissions=permissions,
            message=message,
        )

    # ----------------------------------------------------------------- test side: awaiting
    async def wait_for(self, predicate: Callable[[], bool], deadline: float = 5.0) -> None:
        """Wait until ``predicate()`` holds; ``TimeoutError`` after ``deadline`` seconds."""
        async with asyncio.timeout(deadline):
            while not predicate():
                await self._changed.wait()

    async def _next(
        self, key: tuple[str, Any], match: Callable[[Reply], bool], deadline: float
    ) -> Reply:
        found: list[Reply] = []

        def ready() -> bool:
            for index in range(self._cursors.get(key, 0), len(self.replies)):
                self._cursors[key] = index + 1
                if match(self.replies[index]):
                    found.append(self.replies[index])
                    return True
            return False

        await self.wait_for(ready, deadline)
        return found[0]

    async def next_reply(
        self, interaction: Interaction, *, kinds: Iterable[str] | None = None, deadline: float = 5.0
    ) -> Reply:
        """The next unseen answer to ``interaction`` (callback, edit, follow-up, delete)."""
        wanted = frozenset(kinds) if kinds is not None else None
        return await self._next(
            ("token", interaction.token),
            lambda r: r.token == interaction.token and (wanted is None or r.kind in wanted),
            deadline,
        )

    async def next_channel_message(self, channel_id: int | str, deadline: float = 5.0) -> Reply:
        """The next unseen plain channel message (``POST /channels/{id}/messages``)."""
        cid = int(channel_id)
        return await self._next(
            ("channel", cid), lambda r: r.kind == "channel" and r.channel_id == cid, deadline
        )

    async def wait_ready(self, deadline: float = 5.0) -> None:
        """Until a gateway session has IDENTIFYed and received READY and every GUILD_CREATE."""
        await self.wait_for(lambda: bool(self._ready_sessions), deadline)

    def original(self, interaction: Interaction) -> JSON | None:
        """The interaction's original response message as it stands now."""
        if interaction.original_id is None:
            return None
        return self.messages.get(interaction.original_id)

    def attachment_bytes(self, attachment: Mapping[str, Any]) -> bytes:
        return self.files[int(attachment["id"])][1]

    # ----------------------------------------------------------------- gateway
    async def dispatch(self, event: str, data: JSON) -> None:
        """Send a DISPATCH (op 0) with the next sequence number to the live session."""
        session = self._active
        if session is None:
            raise RuntimeError("no gateway session: is the client connected?")
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.sent.append(frame)
        if session.ws is not None and not session.ws.closed:
            await session.ws.send_str(json.dumps(frame))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        self.gateway_queries.append(dict(request.query))
        await ws.send_json(
            {
                "op": 10,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                "s": None,
                "t": None,
            }
        )
        session: _Session | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                frame = json.loads(msg.data)
                self.gateway_received.append(frame)
                op, data = frame.get("op"), frame.get("d")
                if op == 1:
                    await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
                elif op == 2:
                    session = await self._identify(ws, data)
                elif op == 6:
                    session = await self._resume(ws, data)
                elif op in (3, 4, 8):
                    pass  # presence, voice state, request guild members: accepted, unused
                else:
                    await ws.close(code=4001, message=b"Unknown opcode.")
                self._notify()
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
            self._notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: JSON) -> _Session | None:
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        session = _Session(secrets.token_hex(16), ws, intents=int(data.get("intents") or 0))
        self._sessions[session.session_id] = session
        self._active = session
        await self.dispatch(
            "READY",
            {
                "v": 10,
                "user": self.bot_user,
                "session_id": session.session_id,
                "resume_gateway_url": self.gateway_url,
                "shard": [0, 1],
                "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
                "application": {"id": str(self.app_id), "flags": 0},
                "private_channels": [],
            },
        )
        for guild in self.guilds.values():
            await self.dispatch("GUILD_CREATE", guild)
        self._ready_sessions.add(session.session_id)
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: JSON) -> _Session | None:
        session = self._sessions.get(str(data.get("session_id")))
        if data.get("token") != self.token or session is None:
            await ws.send_json({"op": 9, "d": False, "s": None, "t": None})
            return None
        session.ws = ws
        self._active = session
        last = int(data.get("seq") or 0)
        for frame in session.sent:
            if frame["s"] > last:
                await ws.send_str(json.dumps(frame))
        await self.dispatch("RESUMED", {})
        return session

    # ----------------------------------------------------------------- REST
    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _attachment(self, request: web.Request) -> web.Response:
        stored = self.files.get(int(request.match_info["attachment_id"]))
        if stored is None:
            return web.Response(status=404)
        return web.Response(
            body=stored[1], content_type=stored[0].get("content_type") or "application/octet-stream"
        )

    def _store_attachment(self, filename: str, data: bytes, content_type: str) -> JSON:
        attachment_id = self._snowflake()
        url = f"{self._root}/attachments/{attachment_id}/{filename}"
        meta = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }
        self.files[attachment_id] = (meta, data)
        return meta

    async def _body(self, request: web.Request) -> tuple[JSON, list[Upload]]:
        if request.content_type == "multipart/form-data":
            payload: JSON = {}
            uploads: list[Upload] = []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue  # nested multipart: neither API sends it
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                elif part.filename is not None:
                    uploads.append(
                        Upload(
                            part.name or "",
                            part.filename or "",
                            part.headers.get("Content-Type", "application/octet-stream"),
                            bytes(await part.read()),
                        )
                    )
            return payload, uploads
        if request.can_read_body:
            return dict(await request.json()), []
        return {}, []

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        for index, (needle, status, body, headers) in enumerate(self._forced):
            if needle in path:
                del self._forced[index]
                self.requests.append((request.method, path, status))
                self._notify()
                return _json(body, status=status, headers=headers)
        status = 200
        try:
            result = await self._route(request, path)
        except DiscordApiError as exc:
            status = exc.status
            response: web.StreamResponse = _json(exc.body(), status=exc.status)
        else:
            if result is None:
                status = 204
                response = web.Response(status=204)
            else:
                response = _json(result)
        self.requests.append((request.method, path, status))
        self._notify()
        return response

    def _authorise(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.token}":
            raise DiscordApiError(401, 0, "401: Unauthorized")

    async def _route(self, request: web.Request, path: str) -> Any:
        method = request.method
        parts = path.strip("/").split("/")
        if parts[0] == "interactions" and len(parts) == 4 and parts[3] == "callback":
            payload, uploads = await self._body(request)
            return self._callback(int(parts[1]), parts[2], payload, uploads)
        if parts[0] == "webhooks" and len(parts) >= 3:
            return await self._webhook(request, parts)
        self._authorise(request)
        if path == "/gateway/bot" and method == "GET":
            return {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        if path == "/users/@me" and method == "GET":
            return self.bot_user
        if path == "/oauth2/applications/@me" and method == "GET":
            return {
                "id": str(self.app_id),
                "name": "FollowAudit",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.owner,
                "team": None,
                "verify_key": "00" * 32,
                "flags": 0,
                "summary": "",
                "bot": self.bot_user,
                "interactions_endpoint_url": None,
            }
        if path == "/users/@me/channels" and method == "POST":
            payload, _ = await self._body(request)
            recipient = self.user(int(payload["recipient_id"]), "user")
            return self.dm_channel(recipient)
        if parts[0] == "applications" and parts[-1] == "commands":
            return await self._commands(request, parts)
        if parts[0] == "channels" and len(parts) in (3, 4) and parts[2] == "messages":
            return await self._channel_messages(request, parts)
        raise DiscordApiError(404, 0, "404: Not Found")

    async def _channel_messages(self, request: web.Request, parts: list[str]) -> Any:
        channel_id = int(parts[1])
        if channel_id not in self.channels:
            raise DiscordApiError(404, 10003, "Unknown Channel")
        payload, uploads = await self._body(request)
        if len(parts) == 3:
            if request.method != "POST":
                raise DiscordApiError(405, 0, "405: Method Not Allowed")
            created = self._new_message(channel_id, payload, uploads, webhook=False)
            self._reply("channel", channel_id, payload, uploads, created)
            return created
        found = self.messages.get(int(parts[3]))
        if found is None or int(found["channel_id"]) != channel_id:
            raise DiscordApiError(404, 10008, "Unknown Message")
        message = found
        if request.method == "GET":
            return message
        if message["author"]["id"] != self.bot_user["id"]:
            raise DiscordApiError(403, 50005, "Cannot edit a message authored by another user")
        if request.method == "PATCH":
            updated = self._edit_message(message, payload, uploads)
            self._reply("channel_edit", channel_id, payload, uploads, updated)
            return updated
        if request.method == "DELETE":
            del self.messages[int(message["id"])]
            self._reply("channel_delete", channel_id, {}, [], None)
            return None
        raise DiscordApiError(405, 0, "405: Method Not Allowed")

    async def _commands(self, request: web.Request, parts: list[str]) -> Any:
        if int(parts[1]) != self.app_id:
            raise DiscordApiError(403, 50001, "Missing Access")
        guild_id = int(parts[3]) if len(parts) == 5 and parts[2] == "guilds" else None
        if request.method == "GET":
            return self.commands.get(guild_id, [])
        if request.method != "PUT":
            raise DiscordApiError(405, 0, "405: Method Not Allowed")
        payload = await request.json()
        registered = []
        if not isinstance(payload, list) or len(payload) > 100:
            raise DiscordApiError(400, 50035, "Invalid Form Body")
        for command in payload:
            if not 1 <= len(str(command.get("name", ""))) <= 32:
                raise DiscordApiError(400, 50035, "Invalid Form Body")
            item = {
                "id": str(self._snowflake()),
                "application_id": str(self.app_id),
                "version": str(self._snowflake()),
                "type": 1,
                "description": "",  # what Discord stores for user and message commands
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                **command,
            }
            if guild_id is not None:
                item["guild_id"] = str(guild_id)
            registered.append(item)
        self.commands[guild_id] = registered
        return registered

    # ----------------------------------------------------------------- messages
    def _attachments(
        self, payload: JSON, uploads: list[Upload], existing: list[JSON]
    ) -> list[JSON]:
        """Discord's rule: ``attachments`` lists what stays (by id) and what is new (by index)."""
        by_index = {}
        for upload in uploads:
            match = re.fullmatch(r"files\[(\d+)\]", upload.field)
            by_index[match.group(1) if match else upload.field] = upload
        if "attachments" not in payload:
            kept = list(existing)
            return kept + [
                self._store_attachment(u.filename, u.data, u.content_type) for u in uploads
            ]
        result = []
        old = {a["id"]: a for a in existing}
        for entry in payload.get("attachments") or []:
            key = str(entry.get("id"))
            if key in old:
                result.append(old[key])
            elif key in by_index:
                upload = by_index[key]
                result.append(
                    self._store_attachment(
                        entry.get("filename") or upload.filename, upload.data, upload.content_type
                    )
                )
            else:
                raise DiscordApiError(
                    400,
                    50035,
                    "Invalid Form Body",
                    {
                        "attachments": {
                            "_errors": [{"code": "ATTACHMENT_NOT_FOUND", "message": "Unknown file"}]
                        }
                    },
                )
        return result

    def _new_message(
        self,
        channel_id: int,
        payload: JSON,
        uploads: list[Upload],
        *,
        webhook: bool,
        loading: bool = False,
    ) -> JSON:
        check_message_limits(payload)
        message_id = self._snowflake()
        channel = self.channels.get(channel_id, {})
        flags = int(payload.get("flags") or 0) | (LOADING if loading else 0)
        pings = _pings(str(payload.get("content") or ""), payload.get("allowed_mentions"))
        message: JSON = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": 20 if webhook else 0,
            "content": payload.get("content") or "",
            "author": self.bot_user,
            "attachments": self._attachments(payload, uploads, []),
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": "everyone" in pings,
            "pinned": False,
            "tts": bool(payload.get("tts")),
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "flags": flags,
        }
        if "guild_id" in channel:
            message["guild_id"] = channel["guild_id"]
        if webhook:
            message["webhook_id"] = str(self.app_id)
            message["application_id"] = str(self.app_id)
        self.messages[message_id] = message
        return message

    def _edit_message(self, message: JSON, payload: JSON, uploads: list[Upload]) -> JSON:
        updated = dict(message)
        for key in ("content", "embeds", "components", "flags"):
            if key in payload:
                updated[key] = (
                    payload[key]
                    if payload[key] is not None
                    else ("" if key == "content" else [] if key != "flags" else 0)
                )
        updated["flags"] = int(updated.get("flags") or 0) & ~LOADING
        check_message_limits(updated)
        updated["attachments"] = self._attachments(payload, uploads, message["attachments"])
        pings = _pings(str(updated.get("content") or ""), payload.get("allowed_mentions"))
        updated["mention_everyone"] = "everyone" in pings
        updated["edited_timestamp"] = _now_iso()
        self.messages[int(message["id"])] = updated
        return updated

    def _reply(
        self,
        kind: str,
        channel_id: int,
        payload: JSON,
        uploads: list[Upload],
        message: JSON | None,
        token: str | None = None,
        callback_type: int | None = None,
    ) -> Reply:
        content = str((message or payload).get("content") or "")
        reply = Reply(
            kind,
            channel_id,
            payload,
            uploads,
            message,
            token,
            callback_type,
            time.monotonic(),
            _pings(content, payload.get("allowed_mentions")),
        )
        self.replies.append(reply)
        return reply

    def _callback(self, interaction_id: int, token: str, body: JSON, uploads: list[Upload]) -> JSON:
        record = self.interactions.get(token)
        if record is None or record.id != interaction_id:
            raise DiscordApiError(404, 10062, "Unknown interaction")
        if time.monotonic() - record.created > self.callback_deadline:
            raise DiscordApiError(404, 10062, "Unknown interaction")
        if record.callback_type is not None:
            raise DiscordApiError(400, 40060, "Interaction has already been acknowledged.")
        kind, data = int(body.get("type", 0)), dict(body.get("data") or {})
        interaction_type = record.payload["type"]
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}
        if kind not in allowed.get(interaction_type, set()):
            raise DiscordApiError(
                400,
                50035,
                "Invalid Form Body",
                {
                    "type": {
                        "_errors": [
                            {
                                "code": "INTERACTION_RESPONSE_TYPE",
                                "message": "Invalid response type",
                            }
                        ]
                    }
                },
            )
        message: JSON | None = None
        if kind in (4, 5):
            message = self._new_message(
                record.channel_id, data, uploads, webhook=True, loading=kind == 5
            )
            record.original_id = int(message["id"])
        elif kind == 7:
            assert record.original_id is not None
            message = self._edit_message(self.messages[record.original_id], data, uploads)
        record.callback_type = kind
        self._reply("callback", record.channel_id, body, uploads, message, token, kind)
        result: JSON = {
            "interaction": {
                "id": str(record.id),
                "type": interaction_type,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & EPHEMERAL),
            }
        }
        if message is not None:
            result["interaction"]["response_message_id"] = message["id"]
            result["resource"] = {"type": kind, "message": message}
        return result

    async def _webhook(self, request: web.Request, parts: list[str]) -> Any:
        if int(parts[1]) != self.app_id:
            raise DiscordApiError(404, 10015, "Unknown Webhook")
        record = self.interactions.get(parts[2])
        if record is None or record.expired:
            raise DiscordApiError(401, 50027, "Invalid Webhook Token")
        payload, uploads = await self._body(request)
        method = request.method
        if len(parts) == 3 and method == "POST":
            if record.callback_type is None:
                raise DiscordApiError(404, 10015, "Unknown Webhook")
            message = self._new_message(record.channel_id, payload, uploads, webhook=True)
            self._reply("followup", record.channel_id, payload, uploads, message, record.token)
            return message if request.query.get("wait") in ("true", "1", "True") else None
        if len(parts) == 5 and parts[3] == "messages":
            target = record.original_id if parts[4] == "@original" else int(parts[4])
            found = self.messages.get(target) if target is not None else None
            if found is None or record.callback_type is None:
                raise DiscordApiError(404, 10008, "Unknown Message")
            message = found
            if method == "GET":
                return message
            if method == "PATCH":
                updated = self._edit_message(message, payload, uploads)
                self._reply("edit", record.channel_id, payload, uploads, updated, record.token)
                return updated
            if method == "DELETE":
                del self.messages[int(message["id"])]
                self._reply("delete", record.channel_id, {}, [], None, record.token)
                return None
        raise DiscordApiError(405, 0, "405: Method Not Allowed")
