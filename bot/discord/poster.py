"""Alerts into Discord channels over REST, rendered by Discord's renderer
(``bot.discord.render.alert_markdown``), the chart attached; never pings anyone."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.alerts.model import ChatRef
from bot.alerts.posters import Answer, HttpPoster, json_body
from bot.alerts.render import AlertMessage
from bot.discord.render import alert_markdown

__all__ = ["DiscordPoster"]


class DiscordPoster(HttpPoster):
    """``POST /channels/{id}/messages`` with the chart attached; never pings anyone."""

    BASE = "https://discord.com/api/v10"

    async def _send(self, chat: ChatRef, message: AlertMessage) -> Answer:
        payload: dict[str, Any] = {
            "content": alert_markdown(message),
            "allowed_mentions": {"parse": []},
        }
        headers = {"Authorization": f"Bot {self._token}"}
        url = f"{self.base}/channels/{chat.chat_id}/messages"
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
            body = await json_body(resp)
            retry = body.get("retry_after")
            return resp.status, body, float(retry) if isinstance(retry, int | float) else None

    async def post(self, chat: ChatRef, message: AlertMessage) -> None:
        await self.retrying(lambda: self._send(chat, message), "discord message")
