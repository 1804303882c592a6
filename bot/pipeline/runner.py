"""The seam between the pipeline and the audit itself (sources + scoring).

A worker hands each job to an ``AuditRunner`` with a progress sink, a checkpoint store and the
shared platform budgets. The runner returns an ``AuditOutcome`` (report + renderings, or a user
error), raises ``TransientAuditError`` when a later try can succeed (the worker retries with
backoff), or ``UserFacingError`` for a failure the user should read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from bot.pipeline.messages import AuditJob, AuditOutcome

if TYPE_CHECKING:
    import aiohttp

    from bot.settings import Settings
    from scoring.model import Model

__all__ = [
    "AUDIT_DEADLINE",
    "AuditRunner",
    "Budgets",
    "Checkpoint",
    "ProgressSink",
    "RunnerContext",
    "RunnerFactory",
    "TransientAuditError",
    "Uploads",
    "UserFacingError",
    "load_runner_factory",
]


#: When the running audit must be answered (``time.monotonic()``), set by the worker around it:
#: a wait that would end later (a platform budget) raises ``TransientAuditError`` at once.
AUDIT_DEADLINE: ContextVar[float | None] = ContextVar("audit_deadline", default=None)


class UserFacingError(Exception):
    """An audit failure with a one-line message for the chat (not found, private, ...)."""

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


class TransientAuditError(Exception):
    """A failure a later try can fix (platform 5xx, timeout, rate limit)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class ProgressSink(Protocol):
    """Report where the audit is: ``fetching`` with ``done``/``total``, then ``scoring``."""

    async def __call__(
        self, stage: str, done: int | None = None, total: int | None = None
    ) -> None: ...


class Checkpoint(Protocol):
    """Resumable state of one audit (e.g. followers read so far and the next cursor)."""

    async def load(self) -> dict[str, Any] | None: ...

    async def save(self, state: dict[str, Any]) -> None: ...


class Budgets(Protocol):
    """Per-platform API budgets shared by every worker: wrap each platform request in
    ``async with budgets.request(platform):`` (``request(platform, host)`` for a platform whose
    budget is kept per server, such as Mastodon's instances)."""

    def request(
        self, platform: str, host: str | None = None
    ) -> AbstractAsyncContextManager[None]: ...


class Uploads(Protocol):
    """Uploaded exports parked in Redis: ``job.options["upload"]`` names one."""

    async def get(self, upload_id: str) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class RunnerContext:
    """What the pipeline gives a runner when it is built: shared budgets and uploads, and the
    process's HTTP session and scoring model (owned by the composition root, ``bot.app``: a
    runner uses them and never closes them)."""

    budgets: Budgets
    uploads: Uploads
    session: aiohttp.ClientSession | None = None
    model: Model | None = None


class AuditRunner(Protocol):
    async def run(
        self, job: AuditJob, progress: ProgressSink, checkpoint: Checkpoint
    ) -> AuditOutcome: ...

    async def aclose(self) -> None: ...


#: Builds a runner from the settings and the pipeline's context; named by ``worker.runner``.
#: The worker calls ``aclose()`` when it stops (close what the runner opened itself there).
RunnerFactory = Callable[["Settings", RunnerContext], AuditRunner]


#: Runner specs of modules that have moved, so a deployment that names the old one keeps working.
_MOVED: Final = {"bot.audit_runner:build_runner": "bot.audit.runner:build_runner"}


def load_runner_factory(spec: str) -> RunnerFactory:
    """Import ``module:callable``."""
    module_name, _, attr = _MOVED.get(spec, spec).partition(":")
    if not module_name or not attr:
        raise ValueError(f"runner must be 'module:callable', not {spec!r}")
    factory: RunnerFactory = getattr(importlib.import_module(module_name), attr)
    return factory
