"""Per-platform API budgets in Redis, shared by every worker: a sliding-window request rate and
a concurrency cap with leases (a crashed worker's slots expire)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from bot.pipeline.messages import new_id
from bot.pipeline.metrics import Metrics
from bot.pipeline.resilience import pause, retrying
from bot.pipeline.store import Store
from bot.settings import PlatformBudget

__all__ = ["RedisBudgets"]


class RedisBudgets:
    """``async with budgets.request("bluesky"):`` waits until the platform's budget allows one more
    request, holds a concurrency slot while the block runs, then frees it."""

    def __init__(
        self,
        store: Store,
        budgets: dict[str, PlatformBudget],
        *,
        clock: Callable[[], float],
        metrics: Metrics | None = None,
        lease_seconds: float = 120.0,
    ) -> None:
        self.store = store
        self.budgets = budgets
        self.clock = clock
        self.metrics = metrics
        self.lease_seconds = lease_seconds

    @contextlib.asynccontextmanager
    async def request(self, platform: str) -> AsyncIterator[None]:
        budget = self.budgets.get(platform)
        if budget is None:
            yield
            return
        token = new_id()
        waited = False
        poll = 0.01
        while True:
            wait = await retrying(
                lambda: self.store.acquire_budget(
                    platform, now=self.clock(), requests=budget.requests,
                    window=budget.window_seconds, concurrency=budget.concurrency,
                    lease=self.lease_seconds, token=token,
                ),
                what="budget",
            )  # fmt: skip
            if wait <= 0:
                break
            if not waited and self.metrics:
                self.metrics.budget_waits.labels(platform).inc()
            waited = True
            # The budget frees up with time (rate) or when a request ends (concurrency): poll,
            # less often the longer we wait, so waiting workers do not flood Redis.
            await pause(min(max(wait, poll), 1.0))
            poll = min(poll * 2, 0.1)
        if self.metrics:
            self.metrics.budget_requests.labels(platform).inc()
        try:
            yield
        finally:
            await retrying(lambda: self.store.release_budget(platform, token), what="budget")
