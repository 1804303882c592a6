"""The buttons under a report, as a Telegram inline keyboard: each button's callback data is the
data of ``bot.chat.buttons`` (``fa:<action>:<job id>``, about 45 of Telegram's 64 bytes).

Buttons sent before that carry ``<m|r|c|f>:<key>``, a key naming a record in Redis
(``<prefix>tg:btn:<key>``, kept ``telegram.button_ttl_seconds``); ``legacy_press`` still reads
them until the last of those records has expired, then it can go.
"""

from __future__ import annotations

import json
from typing import Final

import redis.asyncio as aioredis
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chat.buttons import ReportPress
from bot.chat.state import JobRecord
from bot.chat.uploads import UPLOAD_PLATFORM

__all__ = ["legacy_press", "parse_callback", "report_keyboard"]

#: The legacy callback's letters: m more, r reasons, c CSV, f re-run fresh.
_LEGACY: Final = {"m": "more", "r": "why", "c": "csv", "f": "redo"}
_VERSION: Final = 1
_KEY_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def report_keyboard(job_id: str, *, rerun: bool) -> InlineKeyboardMarkup:
    """More accounts and All reasons; Verdicts CSV and (unless an upload) Re-run fresh."""

    def button(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=ReportPress(action, job_id).data)

    rows = [
        [button("More accounts", "more"), button("All reasons", "why")],
        [button("Verdicts CSV", "csv")],
    ]
    if rerun:
        rows[1].append(button("Re-run fresh", "redo"))
    return InlineKeyboardMarkup(rows)


def parse_callback(data: str | None) -> tuple[str, str] | None:
    """``(letter, key)`` of a legacy button's callback data, ``None`` for anything else."""
    if not data or len(data) > 64:
        return None
    action, sep, key = data.partition(":")
    if not sep or action not in _LEGACY or not 4 <= len(key) <= 24 or set(key) - _KEY_CHARS:
        return None
    return action, key


async def legacy_press(
    redis: aioredis.Redis, data: str | None, *, prefix: str = "fa:"
) -> tuple[ReportPress, JobRecord] | None:
    """A legacy button's press and the request behind its report; None when ``data`` is not
    one or its record has expired."""
    parsed = parse_callback(data)
    if parsed is None:
        return None
    raw = await redis.get(f"{prefix}tg:btn:{parsed[1]}")
    if raw is None:
        return None
    try:
        obj = json.loads(raw)
        if obj.get("v") != _VERSION:
            return None
        platform = str(obj["platform"])
        record = JobRecord(platform, str(obj["handle"]), int(obj["sample"]),
                           upload=platform == UPLOAD_PLATFORM)  # fmt: skip
        return ReportPress(_LEGACY[parsed[0]], str(obj["job_id"])), record
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
