"""The composition root: everything a ``followaudit`` process runs on is built here, once, and
handed to every part the command starts (worker, alerts scheduler, each chat adapter); no part
builds its own. ``open_app`` tears it all down in the reverse order of building."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass

import aiohttp
import redis.asyncio as aioredis

from bot.alerts.app import AlertRuntime, build_alerts
from bot.alerts.posters import AlertPoster
from bot.chat.review import ReviewDesk
from bot.chat.state import ChatState
from bot.infra.runtime import Health, open_redis
from bot.pipeline.budget import RedisBudgets
from bot.pipeline.metrics import Metrics
from bot.pipeline.samples import SampleStore
from bot.pipeline.service import AuditService
from bot.pipeline.store import Store
from bot.review import ReviewService, ReviewStore
from bot.settings import Settings
from bot.sources import HTTP_HEADERS
from scoring.model import Model, load_model

__all__ = ["App", "Core", "open_app", "open_core"]


@dataclass(frozen=True, slots=True)
class Core:
    """What an audit needs and nothing that needs Redis: the HTTP session and the model."""

    settings: Settings
    http: aiohttp.ClientSession
    model: Model


@contextlib.asynccontextmanager
async def open_core(settings: Settings) -> AsyncIterator[Core]:
    """The HTTP session and the model (loaded in a thread), closed on exit: all that
    ``followaudit audit`` runs on, and the first part of every :func:`open_app`."""
    async with aiohttp.ClientSession(headers=HTTP_HEADERS) as http:
        model = await asyncio.to_thread(load_model, None)
        yield Core(settings, http, model)


@dataclass(frozen=True, slots=True)
class App:
    """The services of one process, shared by all its parts."""

    settings: Settings
    redis: aioredis.Redis
    #: The one HTTP session: the platforms' follower sources (worker and re-audits) and the
    #: alert posters.
    http: aiohttp.ClientSession
    model: Model
    metrics: Metrics
    #: What each supervised part is doing, for ``/healthz``.
    health: Health
    #: The platforms' request budgets of user audits, shared by every worker (through Redis).
    budgets: RedisBudgets
    #: Submit audits, read results; its ``uploads`` are the exports the worker reads.
    audit: AuditService
    #: Watches, re-audits and alert posting (``alerts.service`` answers the chats' ``/watch``).
    alerts: AlertRuntime
    #: Reviews of audited followers (issue 18): the chats' ``/review``, its buttons, ``/metrics``.
    review: ReviewDesk
    #: Each chat adapter's small Redis state (recent audits, finished jobs), by adapter name.
    chat_states: Mapping[str, ChatState]


@contextlib.asynccontextmanager
async def open_app(
    settings: Settings, *, clock: Callable[[], float] = time.time
) -> AsyncIterator[App]:
    """Redis (external, or an embedded server), the HTTP session, the model (loaded in a thread),
    metrics, budgets, the audit service, the alerts, the reviews and the chats' state; closed in
    reverse on exit. ``clock`` drives the alerts' schedules (tests inject one); budgets and limits
    always run on real time, shared with other processes."""
    async with contextlib.AsyncExitStack() as stack:
        core = await stack.enter_async_context(open_core(settings))
        http, model = core.http, core.model
        redis = await stack.enter_async_context(open_redis(settings))
        metrics = Metrics()
        prefix = settings.redis.prefix
        budgets = RedisBudgets(
            Store(redis, prefix), settings.limits.platforms, clock=time.time, metrics=metrics
        )
        yield App(
            settings=settings,
            redis=redis,
            http=http,
            model=model,
            metrics=metrics,
            health=Health(),
            budgets=budgets,
            audit=AuditService.from_settings(redis, settings),
            alerts=build_alerts(
                settings, redis, http, model, clock=clock, posters=_posters(settings, http)
            ),
            review=_review_desk(settings, redis),
            chat_states=_chat_states(settings, redis),
        )


def _review_desk(settings: Settings, redis: aioredis.Redis) -> ReviewDesk:
    prefix = settings.redis.prefix
    samples = SampleStore(redis, prefix, ttl=settings.history.retention_seconds)
    return ReviewDesk(ReviewService(ReviewStore(redis, prefix), settings.review), samples)


def _posters(settings: Settings, http: aiohttp.ClientSession) -> dict[str, AlertPoster]:
    """An alert poster for each chat platform with a token, beside its chat (its renderer)."""
    posters: dict[str, AlertPoster] = {}
    if settings.telegram.token is not None:
        from bot.telegram.poster import TelegramPoster

        posters["telegram"] = TelegramPoster(
            http, settings.telegram.token.get_secret_value(), settings.telegram.base_url
        )
    if settings.discord.token is not None:
        from bot.discord.poster import DiscordPoster

        posters["discord"] = DiscordPoster(
            http, settings.discord.token.get_secret_value(), settings.discord.api_base
        )
    return posters


def _chat_states(settings: Settings, redis: aioredis.Redis) -> dict[str, ChatState]:
    states: dict[str, ChatState] = {}
    if settings.telegram.token is not None:
        # bot.telegram.adapter.ADAPTER; its job records live as long as its buttons
        states["telegram"] = ChatState(
            redis, prefix=settings.redis.prefix, adapter="telegram", recent=0,
            ttl=settings.telegram.button_ttl_seconds,
        )  # fmt: skip
    if settings.discord.token is not None:
        states["discord"] = ChatState(  # bot.discord.client.ADAPTER, without importing discord.py
            redis, prefix=settings.redis.prefix, adapter="discord",
            recent=settings.discord.recent_audits, ttl=settings.history.retention_seconds,
        )  # fmt: skip
    return states
