"""Alerts into Telegram chats over the Bot API, rendered by Telegram's renderer
(``bot.telegram.render.alert_html``): ``sendPhoto`` with the chart and the alert as its caption
when it fits one, else ``sendMessage``."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

import aiohttp

from bot.alerts.model import ChatRef
from bot.alerts.posters import Answer, HttpPoster, json_body
from bot.alerts.render import AlertMessage
from bot.telegram.format import CAPTION_LIMIT as MAX_CAPTION
from bot.telegram.render import alert_html

__all__ = ["TelegramPoster"]


class TelegramPoster(HttpPoster):
    """Bot API ``sendPhoto`` (chart with the alert as its caption) or ``sendMessage``, HTML."""

    BASE = "https://api.telegram.org"

    async def _call(self, method: str, data: Any) -> Answer:
        url = f"{self.base}/bot{self._token}/{method}"
        async with self.session.post(url, data=data) as resp:
            body = await json_body(resp)
            params = body.get("parameters") or {}
            retry = params.get("retry_after") if isinstance(params, dict) else None
            ok = resp.status == 200 and body.get("ok") is True
            return (200 if ok else resp.status or 500), body, retry

    async def post(self, chat: ChatRef, message: AlertMessage) -> None:
        text = alert_html(message)
        if message.chart is not None and len(text) <= MAX_CAPTION:

            def photo() -> Awaitable[Answer]:
                form = aiohttp.FormData()
                form.add_field("chat_id", chat.chat_id)
                form.add_field("caption", text)
                form.add_field("parse_mode", "HTML")
                form.add_field("photo", message.chart or b"", filename="chart.png",
                               content_type="image/png")  # fmt: skip
                return self._call("sendPhoto", form)

            await self.retrying(photo, "telegram sendPhoto")
            return
        fields = {
            "chat_id": chat.chat_id,
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": json.dumps({"is_disabled": True}),
        }
        await self.retrying(lambda: self._call("sendMessage", fields), "telegram sendMessage")
