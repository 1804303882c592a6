"""Per-platform API budgets in Redis, shared by every worker: a sliding-window request rate and
a concurrency cap with leases (a crashed worker's slots expire). A platform of many servers
(Mastodon) keeps that budget per server, with a bound on the servers in flight at once. A wait
that would outlast the running audit's deadline is not begun: the audit is answered at once with
when to retry."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import KW_ONLY, dataclass

from bot.infra import durations
from bot.pipeline.messages import new_id
from bot.pipeline.metrics import Metrics
from bot.pipeline.resilience import pause, retrying
from bot.pipeline.runner import AUDIT_DEADLINE, TransientAuditError
from bot.pipeline.store import Store
from bot.settings import PlatformBudget

__all__ = ["RedisBudgets"]


@dataclass(eq=False, repr=False)
class RedisBudgets:
    """``async with budgets.request("bluesky"):`` waits until the platform's budget allows one more
    request, holds a concurrency slot while the block runs, then frees it."""

    store: Store
    budgets: dict[str, PlatformBudget]
    _: KW_ONLY
    clock: Callable[[], float]
    metrics: Metrics | None = None
    lease_seconds: float = 120.0

    @contextlib.asynccontextmanager
    async def request(self, platform: str, host: str | None = None) -> AsyncIterator[None]:
        """Hold one request of ``platform``; of its server ``host`` when the platform's budget is
        kept per host (``hosts`` set), so a slow server holds back only its own requests."""
        budget = self.budgets.get(platform)
        if budget is None:
            yield
            return
        if budget.hosts is None:
            host = None
        token = new_id()
        waited = False
        poll = 0.01
        while True:
            wait = await retrying(
                lambda: self.store.acquire_budget(
                    platform, now=self.clock(), requests=budget.requests,
                    window=budget.window_seconds, concurrency=budget.concurrency,
                    lease=self.lease_seconds, token=token, host=host,
                    max_hosts=budget.hosts or 0,
                ),
                what="budget",
            )  # fmt: skip
            if wait <= 0:
                break
            _check_deadline(platform, wait)
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
            await retrying(
                lambda: self.store.release_budget(platform, token, host, now=self.clock()),
                what="budget",
            )


def _check_deadline(platform: str, wait: float) -> None:
    """Raise at once when waiting ``wait`` seconds would end past the audit's deadline."""
    deadline = AUDIT_DEADLINE.get()
    if deadline is not None and time.monotonic() + wait >= deadline:
        raise TransientAuditError(
            f"The {platform} request budget is spent for now; try again in "
            f"{durations.age(wait + 1)}.",
            wait,
        )
