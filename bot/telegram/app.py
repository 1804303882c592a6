"""Build the python-telegram-bot Application and run the adapter: long polling by default,
webhook mode as an option, and the delivery stream consumer beside it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults

from bot.pipeline.delivery import DeliveryConsumer
from bot.settings import Settings
from bot.telegram.adapter import ADAPTER, COMMANDS, TelegramAdapter

if TYPE_CHECKING:
    from bot.chat.services import ChatServices

__all__ = [
    "build_application",
    "delivery_consumer",
    "quiet_token_logs",
    "run_adapter",
    "serve",
]

log = logging.getLogger("followaudit.telegram")

#: Update kinds the bot asks for (everything else never reaches it).
ALLOWED_UPDATES = ("message", "callback_query")


def build_application(settings: Settings, adapter: TelegramAdapter) -> Application:  # type: ignore[type-arg]
    """The real PTB Application on ``telegram.base_url`` (``{base}/bot`` and ``{base}/file/bot``),
    HTML by default without link previews, rate limited with retries on ``RetryAfter``."""
    tg = settings.telegram
    if tg.token is None:
        raise ValueError("FOLLOWAUDIT_TELEGRAM__TOKEN is not set")
    base = tg.base_url.rstrip("/")
    # Durations as timedelta (PTB's coming default), as the adapter expects; no deprecation noise.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    app = (
        ApplicationBuilder()
        .token(tg.token.get_secret_value())
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(AIORateLimiter(max_retries=5))
        .concurrent_updates(tg.concurrent_updates)
        .build()
    )
    adapter.install(app)
    return app


def delivery_consumer(
    settings: Settings, redis: aioredis.Redis, adapter: TelegramAdapter
) -> DeliveryConsumer:
    """The adapter's delivery stream reader. One bot token polls from one place, so the consumer
    name is stable per host: a restart first delivers what the last run had read but not done."""
    return DeliveryConsumer(
        redis,
        ADAPTER,
        adapter.controller.deliver,
        prefix=settings.redis.prefix,
        consumer=f"{ADAPTER}-{socket.gethostname()}",
        claim_idle=settings.delivery.claim_idle_seconds,
        block=1.0,
    )


async def run_adapter(
    app: ChatServices, stop: asyncio.Event, *, ready: asyncio.Event | None = None
) -> None:
    """Run the bot until ``stop``: initialise (getMe), register commands, poll or serve the
    webhook, and consume deliveries. Audits go to the process's audit service, watchlist
    commands to its watch service (their baseline audits run in this process)."""
    settings, redis = app.settings, app.redis
    quiet_token_logs(settings)
    adapter = TelegramAdapter(app)
    application = build_application(settings, adapter)
    tg = settings.telegram
    consumer_stop = asyncio.Event()
    async with application:
        adapter.username = application.bot.username or ""
        with contextlib.suppress(Exception):
            await application.bot.set_my_commands(list(COMMANDS))
        await application.start()
        updater = application.updater
        assert updater is not None
        if tg.mode == "webhook":
            if not tg.webhook_url or tg.webhook_secret is None:  # the settings refuse it too
                raise ValueError(
                    "webhook mode needs FOLLOWAUDIT_TELEGRAM__WEBHOOK_URL and "
                    "FOLLOWAUDIT_TELEGRAM__WEBHOOK_SECRET"
                )
            await updater.start_webhook(
                listen=tg.webhook_listen,
                port=tg.webhook_port,
                url_path="telegram",
                webhook_url=tg.webhook_url,
                allowed_updates=list(ALLOWED_UPDATES),
                secret_token=tg.webhook_secret.get_secret_value(),
            )
        else:
            await updater.start_polling(
                timeout=int(tg.poll_timeout_seconds),
                allowed_updates=list(ALLOWED_UPDATES),
                bootstrap_retries=-1,
            )
        consumer = delivery_consumer(settings, redis, adapter)
        deliveries = asyncio.create_task(consumer.run(consumer_stop), name="telegram-deliveries")
        log.info("telegram bot @%s running (%s)", adapter.username, tg.mode)
        try:
            if ready is not None:
                consumer_ready = asyncio.create_task(consumer.ready.wait())
                first = asyncio.FIRST_COMPLETED
                await asyncio.wait({consumer_ready, deliveries}, return_when=first)
                consumer_ready.cancel()
                if consumer.ready.is_set():
                    ready.set()
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({stopped, deliveries}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if deliveries.done():
                deliveries.result()  # a crashed consumer fails the adapter (and is logged)
        finally:
            consumer_stop.set()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(deliveries, 10)
            await adapter.aclose()
            await updater.stop()
            await application.stop()


class _RedactToken(logging.Filter):
    """Replace the bot token in any record a handler emits (the Bot API's URLs contain it)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            trace = logging.Formatter().formatException(record.exc_info)
            if self.token in trace:  # e.g. an httpx error quoting the request URL
                message, record.exc_info, record.exc_text = f"{message}\n{trace}", None, None
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<token>"), None
        return True


def quiet_token_logs(settings: Settings) -> None:
    """The token never reaches a log: httpx and PTB log request URLs (which hold it) at INFO and
    DEBUG, so they are capped, and every root handler redacts it besides."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    if logging.getLogger("telegram").getEffectiveLevel() < logging.INFO:
        logging.getLogger("telegram").setLevel(logging.INFO)
    token = settings.telegram.token
    if token is None:
        return
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _RedactToken) for f in handler.filters):
            handler.addFilter(_RedactToken(token.get_secret_value()))


async def serve(
    app: ChatServices, stop: asyncio.Event, *, ready: asyncio.Event | None = None
) -> None:
    """``followaudit run``'s entry for this adapter; ``ready`` is set once the bot is up."""
    await run_adapter(app, stop, ready=ready)
