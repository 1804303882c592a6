"""State behind the inline buttons under a report, kept in Redis so callback data stays tiny.

Telegram allows 64 bytes of callback data; ours is ``<action>:<key>`` (about 12 bytes) and the key
names a versioned JSON record (job id, audited account, sample) that expires with the buttons.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Final

import redis.asyncio as aioredis
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chat.uploads import UPLOAD_PLATFORM
from bot.pipeline.messages import AuditRequest

__all__ = ["ACTIONS", "ButtonState", "ButtonStore", "parse_callback"]

#: m: more suspicious accounts, r: reason breakdown, c: CSV of verdicts, f: re-run fresh.
ACTIONS: Final = ("m", "r", "c", "f")
_VERSION: Final = 1
_KEY_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True, slots=True)
class ButtonState:
    job_id: str
    platform: str
    handle: str
    sample: int
    #: Suspicious accounts the report itself already lists ("more" starts after them).
    shown: int = 0


def parse_callback(data: str | None) -> tuple[str, str] | None:
    """``(action, key)`` of our callback data, ``None`` for anything else."""
    if not data or len(data) > 64:
        return None
    action, sep, key = data.partition(":")
    if not sep or action not in ACTIONS or not 4 <= len(key) <= 24 or set(key) - _KEY_CHARS:
        return None
    return action, key


class ButtonStore:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = "fa:", ttl: int = 7 * 86400):
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl

    def _key(self, key: str) -> str:
        return f"{self.prefix}tg:btn:{key}"

    async def put(self, state: ButtonState) -> str:
        key = secrets.token_urlsafe(8)
        record = {
            "v": _VERSION,
            "job_id": state.job_id,
            "platform": state.platform,
            "handle": state.handle,
            "sample": state.sample,
            "shown": state.shown,
        }
        await self.redis.set(self._key(key), json.dumps(record), ex=self.ttl)
        return key

    async def get(self, key: str) -> ButtonState | None:
        raw = await self.redis.get(self._key(key))
        if raw is None:
            return None
        try:
            obj = json.loads(raw)
            if obj.get("v") != _VERSION:
                return None
            return ButtonState(
                job_id=str(obj["job_id"]),
                platform=str(obj["platform"]),
                handle=str(obj["handle"]),
                sample=int(obj["sample"]),
                shown=int(obj.get("shown") or 0),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    async def keyboard(
        self, request: AuditRequest, job_id: str, shown: int
    ) -> InlineKeyboardMarkup:
        """The buttons under a report whose message lists ``shown`` suspicious accounts."""
        key = await self.put(ButtonState(job_id, request.platform, request.handle, request.sample,
                                         shown=shown))  # fmt: skip
        rows = [
            [
                InlineKeyboardButton("More accounts", callback_data=f"m:{key}"),
                InlineKeyboardButton("All reasons", callback_data=f"r:{key}"),
            ],
            [InlineKeyboardButton("Verdicts CSV", callback_data=f"c:{key}")],
        ]
        if request.platform != UPLOAD_PLATFORM:
            rows[1].append(InlineKeyboardButton("Re-run fresh", callback_data=f"f:{key}"))
        return InlineKeyboardMarkup(rows)
