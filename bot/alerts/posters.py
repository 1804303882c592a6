"""Posting alerts into chats: one small ``AlertPoster`` per chat platform.

``post`` returns once the platform has accepted the message (HTTP 2xx), retries rate limits and
server errors a bounded number of times, and raises ``PostError`` otherwise. Tokens come from the
settings only and never appear in errors or logs.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TextIO

import aiohttp

from bot.alerts.model import ChatRef
from bot.alerts.render import AlertMessage

__all__ = ["AlertPoster", "ConsolePoster", "DiscordPoster", "PostError", "TelegramPoster"]

#: Telegram's caption limit: longer alerts go as a text message without the chart.
MAX_CAPTION = 1024
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
_Answer = tuple[int, dict[str, Any], float | None]


async def _with_retries(
    attempt: Callable[[], Awaitable[_Answer]],
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


async def _json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await resp.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {}
    return body if isinstance(body, dict) else {}


class TelegramPoster:
    """Bot API ``sendPhoto`` (chart with the alert as its caption) or ``sendMessage``, HTML."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        base_url: str = "https://api.telegram.org",
        *,
        tries: int = 4,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.session = session
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.tries = tries
        self.sleep = sleep

    async def _call(self, method: str, data: Any) -> _Answer:
        url = f"{self.base_url}/bot{self._token}/{method}"
        async with self.session.post(url, data=data) as resp:
            body = await _json(resp)
            params = body.get("parameters") or {}
            retry = params.get("retry_after") if isinstance(params, dict) else None
            ok = resp.status == 200 and body.get("ok") is True
            return (200 if ok else resp.status or 500), body, retry

    async def post(self, chat: ChatRef, message: AlertMessage) -> None:
        text = message.text("html")
        if message.chart is not None and len(text) <= MAX_CAPTION:

            def photo() -> Awaitable[_Answer]:
                form = aiohttp.FormData()
                form.add_field("chat_id", chat.chat_id)
                form.add_field("caption", text)
                form.add_field("parse_mode", "HTML")
                form.add_field("photo", message.chart or b"", filename="chart.png",
                               content_type="image/png")  # fmt: skip
                return self._call("sendPhoto", form)

            await _with_retries(photo, "telegram sendPhoto", tries=self.tries, sleep=self.sleep)
            return
        fields = {
            "chat_id": chat.chat_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": json.dumps({"is_disabled": True}),
        }
        await _with_retries(
            lambda: self._call("sendMessage", fields), "telegram sendMessage",
            tries=self.tries, sleep=self.sleep,
        )  # fmt: skip


class DiscordPoster:
    """``POST /channels/{id}/messages`` with the chart attached; never pings anyone."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        token: str,
        api_base: str = "https://discord.com/api/v10",
        *,
        tries: int = 4,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.session = session
        self._token = token
        self.api_base = api_base.rstrip("/")
        self.tries = tries
        self.sleep = sleep

    async def _send(self, chat: ChatRef, message: AlertMessage) -> _Answer:
        payload: dict[str, Any] = {
            "content": message.text("markdown"),
            "allowed_mentions": {"parse": []},
        }
        headers = {"Authorization": f"Bot {self._token}"}
        url = f"{self.api_base}/channels/{chat.chat_id}/messages"
        if message.chart is not None:
            payload["attachments"] = [{"id": 0, "filename": "chart.png"}]
            form = aiohttp.FormData()
            form.add_field("payload_json", json.dumps(payload), content_type="application/json")
            form.add_field("files[0]", message.chart, filename="chart.png",
                           content_type="image/png")  # fmt: skip
            request = self.session.post(url, data=form, headers=headers)
        else:
            request = self.session.post(url, json=payload, headers=headers)
        async with request as resp:
            body = await _json(resp)
            retry = body.get("retry_after")
            return resp.status, body, float(retry) if isinstance(retry, int | float) else None

    async def post(self, chat: ChatRef, message: AlertMessage) -> None:
        await _with_retries(
            lambda: self._send(chat, message), "discord message", tries=self.tries,
            sleep=self.sleep,
        )  # fmt: skip


class ConsolePoster:
    """Prints alerts (plain text) for local use: ``[chat] text``."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.posted: list[tuple[ChatRef, AlertMessage]] = []

    async def post(self, chat: ChatRef, message: AlertMessage) -> None:
        self.posted.append((chat, message))
        self.out.write(f"[{chat.key}] {message.text('plain')}\n\n")
        self.out.flush()
