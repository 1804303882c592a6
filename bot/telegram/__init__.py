"""The Telegram bot: a thin python-telegram-bot adapter over the audit service (issue 6).

``serve(app, stop)`` is what ``followaudit run`` starts when
``FOLLOWAUDIT_TELEGRAM__TOKEN`` is set. Modules: ``app`` (the Application, polling or webhook,
and the delivery stream), ``adapter`` (the handlers: parse, submit, hand over to the
conversation controller), ``surface`` (edits and messages for ``bot.chat.conversation``),
``buttons`` (the report's keyboard), ``watch`` and ``review`` (their commands), ``render`` and
``format`` (HTML, pure), ``poster`` (alerts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ADAPTER", "TelegramAdapter", "build_application", "run_adapter", "serve"]

if TYPE_CHECKING:
    import asyncio

    from bot.chat.services import ChatServices


async def serve(
    app: ChatServices, stop: asyncio.Event, *, ready: asyncio.Event | None = None
) -> None:
    from bot.telegram.app import serve as _serve

    await _serve(app, stop, ready=ready)


def __getattr__(name: str) -> Any:
    if name in ("ADAPTER", "TelegramAdapter"):
        from bot.telegram import adapter

        return getattr(adapter, name)
    if name in ("build_application", "run_adapter"):
        from bot.telegram import app

        return getattr(app, name)
    raise AttributeError(f"module 'bot.telegram' has no attribute {name!r}")
