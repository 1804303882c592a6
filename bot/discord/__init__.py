"""The Discord chat adapter (issue 7): ``/audit`` with embeds, buttons and a chart.

``serve(app, stop)`` is what ``followaudit run`` starts when
``FOLLOWAUDIT_DISCORD__TOKEN`` is set. Modules: ``client`` (the bot), ``commands`` (slash and
message commands), ``buttons`` (report buttons), ``surface`` (edits and messages over REST for
``bot.chat.conversation``'s controller, fallbacks), ``render`` (embeds and texts, pure),
``conversation`` (the reference that travels in Redis).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.chat.services import ChatServices
    from bot.discord.client import AuditBot

__all__ = ["quiet_discord_logs", "serve"]

log = logging.getLogger("followaudit.discord")


def quiet_discord_logs() -> None:
    """discord.py logs gateway payloads and webhook URLs at DEBUG, and both hold interaction
    tokens (secrets for fifteen minutes): its loggers stay at INFO or above."""
    library = logging.getLogger("discord")
    if library.getEffectiveLevel() < logging.INFO:
        library.setLevel(logging.INFO)


async def serve(
    app: ChatServices,
    stop: asyncio.Event,
    *,
    clock: Callable[[], float] = time.time,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the bot until ``stop`` is set (or the gateway connection fails for good) on the
    process's audit service, watch service and chat state; ``clock`` (wall-clock seconds)
    decides when interaction tokens have expired; ``ready`` is set once logged in with the
    commands synced."""
    from bot.discord.client import AuditBot
    from bot.discord.transport import discord_endpoints, endpoints_from_settings

    settings = app.settings
    token = settings.discord.token
    if token is None:
        raise ValueError("FOLLOWAUDIT_DISCORD__TOKEN is not set")
    quiet_discord_logs()

    with discord_endpoints(endpoints_from_settings(settings.discord)):
        bot = AuditBot(app, clock=clock)
        await _run_bot(bot, token.get_secret_value(), stop, ready)


async def _run_bot(
    bot: AuditBot, token: str, stop: asyncio.Event, ready: asyncio.Event | None = None
) -> None:
    """Log in (``setup_hook`` syncs the commands), connect until ``stop`` (or the gateway fails
    for good), then close."""
    async with bot:
        await bot.login(token)
        if ready is not None:
            ready.set()
        connection = asyncio.create_task(bot.connect(), name="discord-gateway")
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await connection
        log.info("discord adapter stopped")
