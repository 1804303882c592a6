"""Prometheus metrics of one process, in their own registry (no module-level globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.queue_depth = Gauge(
            "followaudit_queue_depth", "Audits queued and not yet started", registry=r
        )
        self.running = Gauge("followaudit_audits_running", "Audits running here", registry=r)
        self.audits = Counter(
            "followaudit_audits", "Finished audits by outcome", ["outcome"], registry=r
        )
        self.audit_seconds = Histogram(
            "followaudit_audit_seconds", "Time a worker spent on one audit",
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.queue_wait_seconds = Histogram(
            "followaudit_queue_wait_seconds", "Submit to a worker starting the audit",
            buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.platform_errors = Counter(
            "followaudit_platform_errors", "Transient platform errors", ["platform"], registry=r
        )
        self.budget_waits = Counter(
            "followaudit_budget_waits", "Requests that waited for a platform budget",
            ["platform"], registry=r,
        )  # fmt: skip
        self.budget_requests = Counter(
            "followaudit_budget_requests", "Platform requests made under the budget",
            ["platform"], registry=r,
        )  # fmt: skip
        self.takeovers = Counter(
            "followaudit_takeovers", "Stalled audits taken over from another worker", registry=r
        )
        self.dead_letters = Counter(
            "followaudit_dead_letters", "Queue entries moved to the dead-letter stream",
            registry=r,
        )  # fmt: skip
        self.redis_errors = Counter(
            "followaudit_redis_errors", "Redis calls that failed and were retried", registry=r
        )
