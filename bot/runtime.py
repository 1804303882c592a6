"""Building blocks for the commands that start processes: Redis (external or embedded), stop
signals, the supervised worker. Everything is built here and handed down, never global."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import redis.asyncio as aioredis

from bot.pipeline.metrics import Metrics
from bot.pipeline.resilience import connect
from bot.redis_server import RedisServer, default_data_dir
from bot.settings import Settings

__all__ = ["install_stop_signals", "open_redis", "redis_pool_size", "run_worker"]

log = logging.getLogger("followaudit.runtime")


def redis_pool_size(settings: Settings) -> int:
    """Redis connections one process may use at once: each audit running (worker and alerts)
    with its concurrent platform requests (a budget call each), progress and checkpoint; each
    chat update handled at once; and a margin for blocking reads, heartbeats and deliveries.
    Callers beyond it wait for a free connection."""
    per_audit = settings.bluesky.profile_concurrency + 3
    audits = settings.worker.concurrency + settings.alerts.concurrency
    return audits * per_audit + settings.telegram.concurrent_updates + 16


@contextlib.asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    """A client for ``FOLLOWAUDIT_REDIS_URL``; when unset, an embedded redis-server with its
    socket and AOF in ``redis.data_dir`` (shared with other local processes that find it
    answering there, stopped on exit by the process that started it)."""
    server: RedisServer | None = None
    url = settings.redis_url
    if url is None:
        data_dir = Path(settings.redis.data_dir or default_data_dir())
        candidate = RedisServer.embedded(data_dir, binary=settings.redis.binary)
        if not candidate.answers():
            await asyncio.to_thread(candidate.start)
            server = candidate
            log.info("embedded redis-server started", extra={"data_dir": str(data_dir)})
        url = candidate.url
    client = connect(url, max_connections=redis_pool_size(settings))
    try:
        yield client
    finally:
        await client.aclose()
        if server is not None:
            await asyncio.to_thread(server.stop)


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (graceful shutdown); SIGUSR1 logs every task's stack
    (what is this process waiting for?)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
        loop.add_signal_handler(signal.SIGUSR1, _log_tasks)


def _log_tasks() -> None:
    import io

    for task in asyncio.all_tasks():
        out = io.StringIO()
        task.print_stack(limit=12, file=out)
        log.warning("task stack", extra={"task": task.get_name(), "stack": out.getvalue()})


async def run_worker(
    settings: Settings,
    redis: aioredis.Redis,
    stop: asyncio.Event,
    *,
    metrics: Metrics | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Build the runner named by ``worker.runner`` and work until ``stop``; a crash of the worker
    loop itself is logged and the loop restarted (audits in flight are taken over by heartbeat)."""
    from bot.pipeline.budget import RedisBudgets
    from bot.pipeline.runner import RunnerContext, load_runner_factory
    from bot.pipeline.store import Store
    from bot.pipeline.uploads import UploadStore
    from bot.pipeline.worker import Worker

    metrics = metrics or Metrics()
    budgets = RedisBudgets(
        Store(redis, settings.redis.prefix), settings.limits.platforms, clock=clock,
        metrics=metrics,
    )  # fmt: skip
    uploads = UploadStore(redis, settings.redis.prefix, int(settings.history.retention_seconds))
    runner = load_runner_factory(settings.worker.runner)(settings, RunnerContext(budgets, uploads))
    delay = 0.1
    try:
        while not stop.is_set():
            worker = Worker(redis, settings, runner, clock=clock, metrics=metrics)
            try:
                await worker.run(stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker loop crashed; restarting")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 5.0)
    finally:
        await runner.aclose()
