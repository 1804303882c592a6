"""Building blocks for the commands that start processes: Redis (external or embedded), stop
signals, the worker part, supervised parts (worker, alerts, chat adapters) and their health.
The composition root (``bot.app``) builds the services; nothing here is global."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import redis.asyncio as aioredis

from bot.infra.redis_server import RedisServer, default_data_dir
from bot.pipeline.resilience import Stopped, connect, pause, restarting, stop_retries_on
from bot.settings import Settings

if TYPE_CHECKING:
    import aiohttp

    from bot.pipeline.budget import RedisBudgets
    from bot.pipeline.metrics import Metrics
    from bot.pipeline.service import AuditService
    from scoring.model import Model

__all__ = [
    "EXIT_INTERRUPTED",
    "Health",
    "WorkerServices",
    "install_stop_signals",
    "open_redis",
    "redis_pool_size",
    "run_until_stopped",
    "run_worker",
    "supervise",
]

log = logging.getLogger("followaudit.runtime")

#: Exit status of a process stopped at once by a second SIGINT or SIGTERM (128 + SIGINT).
EXIT_INTERRUPTED = 130


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
    try:
        if url is None:
            data_dir = Path(settings.redis.data_dir or default_data_dir())
            candidate = RedisServer.embedded(data_dir, binary=settings.redis.binary)
            if not candidate.answers():
                try:
                    await asyncio.to_thread(candidate.start)
                except BaseException:
                    candidate.close()  # a server that came up too slowly, or half
                    raise
                server = candidate
                log.info("embedded redis-server started", extra={"data_dir": str(data_dir)})
            url = candidate.url
        client = connect(url, max_connections=redis_pool_size(settings))
        try:
            yield client
        finally:
            await client.aclose()
    finally:
        if server is not None:
            # Synchronously (a few milliseconds), so no cancellation can leave it running.
            server.close()
            log.info("embedded redis-server stopped")


def install_stop_signals(stop: asyncio.Event) -> None:
    """The first SIGTERM or SIGINT sets ``stop`` (graceful shutdown; every retry loop of this
    task and the tasks it starts gives up); a second cancels every task, so the process leaves
    at once, its ``finally`` blocks (the embedded Redis's stop among them) still run. SIGUSR1
    logs every task's stack (what is this process waiting for?)."""
    loop = asyncio.get_running_loop()
    stop_retries_on(stop)

    def signalled(sig: signal.Signals) -> None:
        if not stop.is_set():
            log.info("stopping (%s; once more to stop at once)", sig.name)
            stop.set()
            return
        log.warning("stopping at once (%s)", sig.name)
        for task in asyncio.all_tasks(loop):
            task.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, signalled, sig)
    with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
        loop.add_signal_handler(signal.SIGUSR1, _log_tasks)


def run_until_stopped(main: Callable[[asyncio.Event], Coroutine[Any, Any, int]]) -> int:
    """``asyncio.run(main(stop))`` with the stop signals installed: ``main``'s status after a
    graceful stop, ``EXIT_INTERRUPTED`` when a second signal (or a Ctrl-C before the signals
    were installed) cut it short."""

    async def body() -> int:
        stop = asyncio.Event()
        install_stop_signals(stop)
        return await main(stop)

    try:
        return asyncio.run(body())
    except (asyncio.CancelledError, KeyboardInterrupt):
        return EXIT_INTERRUPTED


def _log_tasks() -> None:
    import io

    for task in asyncio.all_tasks():
        out = io.StringIO()
        task.print_stack(limit=12, file=out)
        log.warning("task stack", extra={"task": task.get_name(), "stack": out.getvalue()})


class WorkerServices(Protocol):
    """What the worker part runs on: the composition root's ``App`` (``bot.app``), which this
    lower layer does not import."""

    @property
    def settings(self) -> Settings: ...
    @property
    def redis(self) -> aioredis.Redis: ...
    @property
    def http(self) -> aiohttp.ClientSession: ...
    @property
    def model(self) -> Model: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def budgets(self) -> RedisBudgets: ...
    @property
    def audit(self) -> AuditService: ...


async def run_worker(
    app: WorkerServices,
    stop: asyncio.Event,
    *,
    clock: Callable[[], float] = time.time,
    ready: asyncio.Event | None = None,
) -> None:
    """Build the runner named by ``worker.runner`` on the process's budgets, uploads, HTTP session
    and model, and work until ``stop``; a crash of the worker loop itself is logged and the loop
    restarted (audits in flight are taken over by heartbeat). ``ready`` is set once a worker
    reads the queue."""
    from bot.pipeline.runner import RunnerContext, load_runner_factory
    from bot.pipeline.worker import Worker

    settings = app.settings
    context = RunnerContext(app.budgets, app.audit.uploads, session=app.http, model=app.model)
    runner = load_runner_factory(settings.worker.runner)(settings, context)

    def work() -> Awaitable[None]:
        worker = Worker(
            app.redis, settings, runner, clock=clock, metrics=app.metrics, started=ready
        )
        return worker.run(stop)

    try:
        await restarting(work, stop, what="worker loop", logger=log)
    finally:
        await runner.aclose()


@dataclass
class _Part:
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    failures: int = 0
    #: The last failure's exception type while the part waits to start again.
    error: str | None = None

    def report(self) -> dict[str, Any]:
        state = "retrying" if self.error else "running" if self.ready.is_set() else "starting"
        out: dict[str, Any] = {"state": state, "failures": self.failures}
        if self.error:
            out["error"] = self.error
        return out


class Health:
    """What each supervised part of the process is doing, for ``/healthz``: ``starting``,
    ``running``, or ``retrying`` after a failure (its exception type, never its message, which
    may quote a URL with a token)."""

    def __init__(self) -> None:
        self._parts: dict[str, _Part] = {}

    def part(self, name: str) -> _Part:
        return self._parts.setdefault(name, _Part())

    def report(self) -> dict[str, dict[str, Any]]:
        return {name: part.report() for name, part in self._parts.items()}

    @property
    def ok(self) -> bool:
        return all(p.ready.is_set() and not p.error for p in self._parts.values())


#: A part of a process (worker, alerts scheduler, chat adapter) given the event it sets once up.
Part = Callable[[asyncio.Event], Awaitable[None]]


async def supervise(
    name: str,
    part: Part,
    stop: asyncio.Event,
    health: Health,
    *,
    first_delay: float = 1.0,
    max_delay: float = 60.0,
) -> None:
    """Run ``part`` until ``stop``. When it fails (a chat API unreachable at start, a refused
    command sync, ...) or ends early, log it, show it in ``health`` and start it again after a
    backoff (doubling up to ``max_delay``; from ``first_delay`` again once it had been up), while
    the process's other parts keep running."""
    state = health.part(name)
    delay = first_delay
    while not stop.is_set():
        state.ready = asyncio.Event()
        try:
            await part(state.ready)
            failure, state.error = "it ended", "ended"
        except Stopped:
            break
        except Exception as exc:
            failure, state.error = f"{type(exc).__name__}: {_one_line(exc)}", type(exc).__name__
        if stop.is_set():
            break
        delay = first_delay if state.ready.is_set() else delay
        state.failures += 1
        log.error("%s failed (%s); starting it again in %.0f s", name, failure, delay,
                  extra={"part": name, "failures": state.failures})  # fmt: skip
        try:
            await pause(delay, stop)
        except Stopped:
            break
        delay = min(max_delay, delay * 2)
        state.error = None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]
