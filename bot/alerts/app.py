"""The alerts of a process: wiring the shared (yielding) budgets, the auditor, the posters, the
service and the runner onto the Redis client, HTTP session and model the composition root
(``bot.app``) built; and the scheduler loop ``followaudit run`` supervises."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

import aiohttp
import redis.asyncio as aioredis

from bot.alerts.auditor import Auditor, SourceAuditor
from bot.alerts.memory import FollowerMemory
from bot.alerts.posters import AlertPoster, ConsolePoster
from bot.alerts.runner import AlertRunner
from bot.alerts.service import WatchService
from bot.alerts.store import WatchStore
from bot.audit.usecase import AuditUseCase
from bot.pipeline.resilience import Stopped
from bot.settings import PlatformBudget, Settings

if TYPE_CHECKING:
    from scoring.model import Model

__all__ = ["AlertRuntime", "build_alerts", "serve", "yielding_budgets"]

log = logging.getLogger("followaudit.alerts")


@dataclass
class AlertRuntime:
    store: WatchStore
    service: WatchService
    runner: AlertRunner
    posters: dict[str, AlertPoster]


def yielding_budgets(settings: Settings) -> dict[str, PlatformBudget]:
    """Each platform's budget scaled by ``alerts.budget_share``: re-audits draw on the same
    Redis budget keys as user audits but stop at the lower cap, so user audits always have the
    rest (re-audits yield to them)."""
    share = settings.alerts.budget_share
    return {
        name: PlatformBudget(
            requests=max(1, int(b.requests * share)),
            window_seconds=b.window_seconds,
            concurrency=max(1, int(b.concurrency * share)),
            hosts=None if b.hosts is None else max(1, int(b.hosts * share)),
        )
        for name, b in settings.limits.platforms.items()
    }


def build_alerts(
    settings: Settings,
    redis: aioredis.Redis,
    session: aiohttp.ClientSession,
    model: Model,
    *,
    clock: Callable[[], float] = time.time,
    auditor: Auditor | None = None,
    out: TextIO | None = None,
    charts: bool = True,
    posters: Mapping[str, AlertPoster] | None = None,
) -> AlertRuntime:
    """Everything the alerts need, on the process's Redis client, HTTP session and model (built
    and closed by the composition root, ``bot.app``). ``clock`` drives schedules (tests inject
    one); budgets always run on real time, shared with the workers. ``auditor``, ``out`` (the
    console poster's stream) and ``charts`` are for benchmarks. ``posters``: each chat platform's
    (``bot.telegram.poster``, ``bot.discord.poster``, built by the root), beside the console's."""
    from bot.pipeline.budget import RedisBudgets
    from bot.pipeline.store import Store

    prefix = settings.redis.prefix
    if auditor is None:
        budgets = RedisBudgets(Store(redis, prefix), yielding_budgets(settings), clock=time.time)
        memory = FollowerMemory(
            redis, prefix, ttl_seconds=settings.alerts.remember_followers_seconds,
            cap=settings.alerts.sample,
        )  # fmt: skip
        audits = AuditUseCase(session, settings, model, gate=budgets.request)
        auditor = SourceAuditor(audits, memory=memory)
    store = WatchStore(redis, prefix)
    posters = {"console": ConsolePoster(out), **(posters or {})}
    service = WatchService(store, settings, auditor=auditor, clock=clock)
    runner = AlertRunner(store, auditor, posters, settings.alerts, clock=clock, charts=charts)
    return AlertRuntime(store, service, runner, posters)


async def serve(
    rt: AlertRuntime, stop: asyncio.Event, *, ready: asyncio.Event | None = None
) -> None:
    """The re-audit loop beside ``followaudit run``: run what is due, sleep until the next due
    watch (at most a minute, so new watches are picked up), until ``stop``. ``ready`` is set at
    once (the root built the alerts and loaded the model)."""
    if ready is not None:
        ready.set()
    while not stop.is_set():
        try:
            report = await rt.runner.run_due()
            if report.audited or report.failed:
                log.info("re-audits done", extra={"audited": report.audited,
                                                  "alerts": report.alerts})  # fmt: skip
            nxt = await rt.store.next_due_at()
        except Stopped:
            return
        except Exception:
            log.exception("re-audit pass failed")
            nxt = time.time() + 5.0  # try again soon
        wait = 60.0 if nxt is None else min(60.0, max(1.0, nxt - time.time()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait)  # the schedule's own pace
