"""What several benchmarks share: a private redis-server with a client, and latency figures."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from bot.infra.redis_server import RedisServer
from bot.pipeline.resilience import connect


@contextlib.asynccontextmanager
async def private_redis() -> AsyncIterator[tuple[RedisServer, Any]]:
    """A redis-server of the benchmark's own and a client of it, both closed on the way out."""
    with RedisServer() as server:
        redis = connect(server.url)
        try:
            yield server, redis
        finally:
            await redis.aclose()


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def show(
    name: str, values: list[float], *, width: int = 34, target_ms: float | None = None
) -> None:
    """One line of latencies in seconds, as ms: count, p50, p99 and max (and ``ok`` or ``OVER``
    against ``target_ms`` for the p99, when given)."""
    ms = [1000 * v for v in values]
    line = (f"  {name:<{width}} n {len(ms):4d}   p50 {pct(ms, 0.5):6.1f} ms   "
            f"p99 {pct(ms, 0.99):6.1f} ms   max {max(ms):6.1f} ms")  # fmt: skip
    if target_ms is not None:
        line += "   ok" if pct(ms, 0.99) < target_ms else f"   OVER {target_ms:.0f} ms"
    print(line)
