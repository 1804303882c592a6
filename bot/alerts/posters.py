"""Posting alerts into chats: one small ``AlertPoster`` per chat platform, each beside its chat
(``bot.telegram.poster``, ``bot.discord.poster``; the console's here), rendering the message with
that chat's markup.

``post`` returns once the platform has accepted the message (HTTP 2xx), retries rate limits and
server errors a bounded number of times (``with_retries``), and raises ``PostError`` otherwise.
Tokens come from the settings only and never appear in errors or logs.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TextIO

import aiohttp

from bot.alerts.model import ChatRef
from bot.alerts.render import AlertMessage
from scoring.audit.render import PLAIN

__all__ = [
    "AlertPoster",
    "Answer",
    "ConsolePoster",
    "HttpPoster",
    "PostError",
    "Sleep",
    "json_body",
    "with_retries",
]

MAX_WAIT_SECONDS = 30.0


class PostError(Exception):
    """The chat platform refused or never accepted an alert; ``retryable`` when later may work."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class AlertPoster(Protocol):
    async def post(self, chat: ChatRef, message: AlertMessage) -> None: ...


Sleep = Callable[[float], Awaitable[None]]
#: (HTTP status, JSON body, seconds the platform asks to wait)
Answer = tuple[int, dict[str, Any], float | None]


async def with_retries(
    attempt: Callable[[], Awaitable[Answer]],
    what: str,
    *,
    tries: int,
    sleep: Sleep,
) -> dict[str, Any]:
    """Call ``attempt`` (-> status, body, retry_after) until 2xx, waiting out 429s and 5xx."""
    last = ""
    for n in range(tries):
        try:
            status, body, retry_after = await attempt()
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, body, retry_after = 0, {}, None
            last = type(exc).__name__
        if 200 <= status < 300:
            return body
        if status and status != 429 and status < 500:
            desc = str(body.get("description") or body.get("message") or "")[:200]
            raise PostError(f"{what}: refused ({status}) {desc}".strip())
        last = last or f"status {status}"
        if n + 1 < tries:
            wait = retry_after if retry_after is not None else 0.5 * 2**n
            if wait > MAX_WAIT_SECONDS:
                break
            await sleep(max(0.0, wait))
    raise PostError(f"{what}: not accepted ({last})", retryable=True)


async def json_body(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await resp.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return body if isinstance(body, dict) else {}


class HttpPoster:
    """A poster over a chat platform's HTTP API: the process's session, the bot's token (never
    shown), the API's root (``BASE`` unless given) and bounded retries."""

    BASE = ""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        base: str | None = None,
        *,
        tries: int = 4,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.session = session
        self._token = token
        self.base = (base or self.BASE).rstrip("/")
        self.tries = tries
        self.sleep = sleep

    async def retrying(self, attempt: Callable[[], Awaitable[Answer]], what: str) -> dict[str, Any]:
        """``with_retries`` with this poster's tries and sleep."""
        return await with_retries(attempt, what, tries=self.tries, sleep=self.sleep)


class ConsolePoster:
    """Prints alerts (plain text) for local use: ``[chat] text``."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.posted: list[tuple[ChatRef, AlertMessage]] = []

    async def post(self, chat: ChatRef, message: AlertMessage) -> None:
        self.posted.append((chat, message))
        self.out.write(f"[{chat.key}] {message.render(PLAIN)}\n\n")
        self.out.flush()
