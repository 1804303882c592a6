"""Riding out Redis restarts and outages: connect without redis-py's own retries, and repeat an
idempotent operation with capped exponential backoff until Redis answers again, or until the
process is stopping (then ``Stopped`` is raised instead of waiting for a Redis that may be gone).

The pool blocks: a caller finding every connection in use waits for one to come back (up to
``pool_timeout``, then ``MaxConnectionsError``, retried quietly), so a busy process is never
mistaken for a Redis outage."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, TypeVarTuple

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = [
    "TRANSIENT",
    "Stopped",
    "connect",
    "pause",
    "restarting",
    "retrying",
    "stop_retries_on",
]

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
log = logging.getLogger("followaudit.redis")

#: Errors after which the same call can succeed once Redis is back (LOADING is a ConnectionError).
TRANSIENT: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)

#: The process's stop event, seen by every retry loop in the task that set it and its children.
_process_stop: contextvars.ContextVar[asyncio.Event | None] = contextvars.ContextVar(
    "followaudit_process_stop", default=None
)


class Stopped(Exception):
    """The process (or the loop that asked) is stopping: an operation was not retried, a backoff
    not waited out. The work it was part of is left for a takeover."""


def stop_retries_on(stop: asyncio.Event) -> None:
    """From now on, in this task and the tasks it starts, retry loops and backoffs give up
    (``Stopped``) once ``stop`` is set."""
    _process_stop.set(stop)


def _stop_events(stop: asyncio.Event | None) -> list[asyncio.Event]:
    return [e for e in (stop, _process_stop.get()) if e is not None]


async def pause(seconds: float, stop: asyncio.Event | None = None) -> None:
    """Wait ``seconds`` (a backoff), but raise ``Stopped`` as soon as ``stop`` or the process's
    stop event is set."""
    events = _stop_events(stop)
    if any(e.is_set() for e in events):
        raise Stopped
    if not events:
        await asyncio.sleep(seconds)
        return
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        done, _ = await asyncio.wait(waiters, timeout=seconds)
    finally:
        for waiter in waiters:
            waiter.cancel()
    if done:
        raise Stopped


class _WaitingPool(aioredis.BlockingConnectionPool):
    """A blocking pool whose wait for a free connection, when it times out, raises
    ``MaxConnectionsError`` (the process is busy) rather than a plain ``ConnectionError``."""

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().get_connection(*args, **kwargs)
        except RedisConnectionError as exc:
            # Only the pool's own wait ends in a ConnectionError caused by a TimeoutError
            # (a failed connect is a redis TimeoutError or comes from an OSError).
            if isinstance(exc.__cause__, TimeoutError):
                raise MaxConnectionsError("no free Redis connection") from exc
            raise


def connect(url: str, *, max_connections: int = 64, pool_timeout: float = 10.0) -> aioredis.Redis:
    """A client that fails fast on a lost connection, so ``retrying`` decides what to repeat;
    beyond ``max_connections`` calls at once, callers wait for a free connection."""
    pool = _WaitingPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        decode_responses=False,
        retry=Retry(NoBackoff(), 0),
        socket_connect_timeout=5,
        # Longer than any blocking read we issue (at most a few seconds), so a connection that
        # silently died fails instead of hanging; the caller's retry then reconnects.
        socket_timeout=30,
        health_check_interval=15,
    )
    return aioredis.Redis.from_pool(pool)


async def retrying(
    op: Callable[[*Ts], Awaitable[T]],
    *args: *Ts,
    what: str,
    give_up_after: float | None = None,
    base: float = 0.02,
    cap: float = 2.0,
    stop: asyncio.Event | None = None,
) -> T:
    """Run ``op(*args)`` until it succeeds, backing off while Redis is unreachable; once ``stop``
    or the process's stop event is set, a failure raises ``Stopped`` instead of being retried.

    ``op`` must be safe to repeat (our scripts are idempotent by request or job id).
    """
    started = time.monotonic()
    delay = base
    failures = 0
    while True:
        try:
            return await op(*args)
        except TRANSIENT as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # The client turned our cancellation into a connection error: honour the cancel.
                raise asyncio.CancelledError from exc
            elapsed = time.monotonic() - started
            if give_up_after is not None and elapsed > give_up_after:
                raise
            if isinstance(exc, MaxConnectionsError):
                # Busy for the pool's whole wait: this process is overloaded, Redis is not down.
                log.warning("no free redis connection, waiting again", extra={"what": what})
                continue
            failures += 1
            if failures == 1 or failures % 20 == 0:
                log.warning(
                    "redis unavailable, retrying",
                    extra={"what": what, "error": type(exc).__name__, "failures": failures},
                )
            try:
                await pause(delay * (0.5 + random.random()), stop)
            except Stopped:
                raise Stopped(f"{what}: redis unavailable while stopping") from exc
            delay = min(cap, delay * 2)


async def restarting(
    run: Callable[[], Awaitable[object]],
    stop: asyncio.Event,
    *,
    what: str,
    logger: logging.Logger,
    first_delay: float = 0.1,
    max_delay: float = 5.0,
) -> None:
    """Run ``run()`` again and again until ``stop`` is set: a crash is logged ("``what`` crashed;
    restarting") and ``run`` started anew after a backoff doubling up to ``max_delay``."""
    delay = first_delay
    while not stop.is_set():
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s crashed; restarting", what)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, max_delay)
