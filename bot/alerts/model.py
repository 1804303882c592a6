"""What the alerts keep in Redis: chats and watches, as versioned JSON (never pickle)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Final

from bot.pipeline.records import load_record

__all__ = ["VERSION", "ChatPrefs", "ChatRef", "StoredError", "Watch", "watch_id"]

VERSION: Final = 1
MAX_RAW: Final = 64 * 1024


class StoredError(ValueError):
    """A stored record that is not valid JSON of a version we write."""


def _load(raw: str | bytes) -> dict[str, Any]:
    return load_record(raw, max_bytes=MAX_RAW, version=VERSION, error=StoredError)


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps({"v": VERSION, **obj}, separators=(",", ":"), allow_nan=False)


def _text(obj: dict[str, Any], key: str, max_len: int = 200) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise StoredError(f"{key!r} must be a non-empty string")
    return value


def _opt_num(obj: dict[str, Any], key: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StoredError(f"{key!r} must be a number")
    return float(value)


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A chat, platform-neutral: the adapter (``telegram``, ``discord``, ``console``), its chat
    id (Telegram chat id, Discord channel id) and, where chats belong to one, the server (Discord
    guild id; Telegram groups are their own server)."""

    adapter: str
    chat_id: str
    server_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.adapter}:{self.chat_id}"

    @property
    def server_key(self) -> str:
        return f"{self.adapter}:server:{self.server_id}" if self.server_id else self.key

    def to_dict(self) -> dict[str, Any]:
        return {"adapter": self.adapter, "chat_id": self.chat_id, "server_id": self.server_id}

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> ChatRef:
        server = obj.get("server_id")
        if server is not None and (not isinstance(server, str) or len(server) > 200):
            raise StoredError("'server_id' must be a string or null")
        return cls(_text(obj, "adapter", 32), _text(obj, "chat_id"), server)

    def to_json(self) -> str:
        return _dump(self.to_dict())

    @classmethod
    def from_json(cls, raw: str | bytes) -> ChatRef:
        return cls.from_dict(_load(raw))


def watch_id(chat: ChatRef, platform: str, handle: str) -> str:
    """One watch per chat and account."""
    text = f"{chat.key}|{platform}:{handle}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Watch:
    """A watched account in one chat and its schedule state."""

    platform: str
    handle: str  # normalised
    chat: ChatRef
    threshold: float
    created_at: float
    created_by: str = ""
    #: Set when the account disappeared, went private or hid its followers (said once).
    paused: str | None = None
    last_audit_at: float | None = None
    last_alert_at: float | None = None
    #: Consecutive transient failures (platform down), for backing off.
    failures: int = 0
    #: The audit the watch started from, and the latest one (ids of their snapshots).
    baseline_audit: str = ""
    last_audit: str = ""
    id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", watch_id(self.chat, self.platform, self.handle))

    @property
    def label(self) -> str:
        prefix = {"bluesky": "bsky"}.get(self.platform, self.platform)
        return f"{prefix}:{self.handle}"

    def with_(self, **changes: Any) -> Watch:
        return replace(self, **changes)

    def to_json(self) -> str:
        return _dump(
            {
                "id": self.id,
                "platform": self.platform,
                "handle": self.handle,
                "chat": self.chat.to_dict(),
                "threshold": self.threshold,
                "created_at": self.created_at,
                "created_by": self.created_by,
                "paused": self.paused,
                "last_audit_at": self.last_audit_at,
                "last_alert_at": self.last_alert_at,
                "failures": self.failures,
                "baseline_audit": self.baseline_audit,
                "last_audit": self.last_audit,
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Watch:
        obj = _load(raw)
        chat = obj.get("chat")
        if not isinstance(chat, dict):
            raise StoredError("'chat' must be an object")
        threshold = _opt_num(obj, "threshold")
        created = _opt_num(obj, "created_at")
        if threshold is None or created is None:
            raise StoredError("'threshold' and 'created_at' are required")
        paused = obj.get("paused")
        failures = obj.get("failures", 0)
        return cls(
            id=_text(obj, "id", 64),
            platform=_text(obj, "platform", 32),
            handle=_text(obj, "handle", 512),
            chat=ChatRef.from_dict(chat),
            threshold=threshold,
            created_at=created,
            created_by=str(obj.get("created_by") or "")[:200],
            paused=paused if isinstance(paused, str) else None,
            last_audit_at=_opt_num(obj, "last_audit_at"),
            last_alert_at=_opt_num(obj, "last_alert_at"),
            failures=failures if isinstance(failures, int) and failures >= 0 else 0,
            baseline_audit=str(obj.get("baseline_audit") or "")[:64],
            last_audit=str(obj.get("last_audit") or "")[:64],
        )


@dataclass(frozen=True, slots=True)
class ChatPrefs:
    """A chat's choices for its watches' alerts (``/alerts``): paused (``off``: the watches are
    kept but not re-audited or posted) and the re-audit interval (``None``: the configured one)."""

    off: bool = False
    interval_seconds: float | None = None

    def to_json(self) -> str:
        return _dump({"off": self.off, "interval_seconds": self.interval_seconds})

    @classmethod
    def from_json(cls, raw: str | bytes) -> ChatPrefs:
        obj = _load(raw)
        off = obj.get("off", False)
        if not isinstance(off, bool):
            raise StoredError("'off' must be a boolean")
        interval = _opt_num(obj, "interval_seconds")
        if interval is not None and interval <= 0:
            raise StoredError("'interval_seconds' must be positive")
        return cls(off, interval)
