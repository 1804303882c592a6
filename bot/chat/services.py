"""What a chat adapter runs on, as a Protocol: the composition root's ``App`` (``bot.app``)
satisfies it, and the adapters, a layer below the root, never import it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from bot.alerts.app import AlertRuntime
    from bot.chat.review import ReviewDesk
    from bot.chat.state import ChatState
    from bot.pipeline.service import AuditService
    from bot.settings import Settings

__all__ = ["ChatServices"]


class ChatServices(Protocol):
    """The process's settings, Redis, audit service, alerts, reviews and each adapter's chat
    state."""

    @property
    def settings(self) -> Settings: ...
    @property
    def redis(self) -> aioredis.Redis: ...
    @property
    def audit(self) -> AuditService: ...
    @property
    def alerts(self) -> AlertRuntime: ...
    @property
    def review(self) -> ReviewDesk: ...
    @property
    def chat_states(self) -> Mapping[str, ChatState]: ...
