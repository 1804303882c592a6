"""The real AuditRunner: the audit use case (``bot.audit.usecase``) under the shared platform
budgets, resuming from the pipeline's checkpoint, and its result turned into the worker's
``AuditOutcome`` (the typed report and the chart's bytes: each chat renders the report at its
edge). Built by the worker (``worker.runner``
names ``build_runner``)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import aiohttp

from bot.audit.usecase import AuditUseCase
from bot.pipeline.messages import AuditJob, AuditOutcome
from bot.pipeline.runner import (
    Budgets,
    Checkpoint,
    ProgressSink,
    RunnerContext,
    TransientAuditError,
    Uploads,
    UserFacingError,
)
from bot.pipeline.samples import ScoredSample
from bot.pipeline.uploads import UPLOAD_PLATFORM
from bot.settings import Settings
from bot.sources.base import FetchResult
from bot.sources.handles import Handle

__all__ = ["UPLOAD_PLATFORM", "PlatformAuditRunner", "build_runner", "error_code"]

log = logging.getLogger("followaudit.runner")


def error_code(exc: BaseException) -> str:
    """``NotFound`` -> ``not_found``: a stable code for a source error."""
    name = type(exc).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


class PlatformAuditRunner:
    """One per worker process, on the process's HTTP session and model when given (``followaudit``
    commands always give them, from ``bot.app``); standalone, it opens a session of its own on
    first use and loads the model once (in a thread)."""

    def __init__(
        self,
        settings: Settings,
        budgets: Budgets | None = None,
        uploads: Uploads | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        model: Any = None,
    ) -> None:
        self.settings = settings
        self.budgets = budgets
        self.uploads = uploads
        self.session = session
        self._own_session: aiohttp.ClientSession | None = None
        self._model: Any = model
        self._model_lock = asyncio.Lock()

    async def _http(self) -> aiohttp.ClientSession:
        if self.session is not None:
            return self.session
        if self._own_session is None:
            from bot.sources import HTTP_HEADERS

            self._own_session = aiohttp.ClientSession(headers=HTTP_HEADERS)
        return self._own_session

    async def _load_model(self) -> Any:
        async with self._model_lock:
            if self._model is None:
                from scoring.model import load_model

                self._model = await asyncio.to_thread(load_model, None)
        return self._model

    async def _audits(self) -> AuditUseCase:
        gate = self.budgets.request if self.budgets is not None else None
        return AuditUseCase(await self._http(), self.settings, await self._load_model(), gate=gate)

    async def run(
        self, job: AuditJob, progress: ProgressSink, checkpoint: Checkpoint
    ) -> AuditOutcome:
        from bot.sources import SourceError

        if job.platform == UPLOAD_PLATFORM:
            try:
                fetched = await self._read_upload(job)
            except SourceError as exc:
                raise UserFacingError(error_code(exc), exc.message) from exc
            await progress("scoring")
            return await asyncio.to_thread(_outcome, await self._audits(), fetched, None)
        audits = await self._audits()

        async def on_progress(read: int, target: int) -> None:
            await progress("fetching", read, target)

        await progress("fetching", 0, job.sample)
        try:
            fetched, _ = await audits.fetch(
                Handle(job.platform, job.handle), job.sample, progress=on_progress,
                checkpoint=checkpoint,
            )  # fmt: skip
        except SourceError as exc:
            if exc.retryable:
                raise TransientAuditError(exc.message, getattr(exc, "retry_after", None)) from exc
            raise UserFacingError(error_code(exc), exc.message) from exc
        await progress("scoring")
        # Scoring and the chart are CPU work: in a thread, so heartbeats keep their pace.
        return await asyncio.to_thread(_outcome, audits, fetched, job)

    async def _read_upload(self, job: AuditJob) -> FetchResult:
        from bot.sources import read_upload

        upload_id = job.options.get("upload")
        data = await self.uploads.get(upload_id) if self.uploads and upload_id else None
        if data is None:
            raise UserFacingError(
                "upload_expired", "That file is no longer available; please send it again."
            )
        return await read_upload(
            data, self.settings, name=str(job.options.get("name") or job.handle),
            format=str(job.options.get("format") or "auto"), sample=job.sample,
        )  # fmt: skip

    async def aclose(self) -> None:
        """Close the session this runner opened itself (never the one it was given)."""
        if self._own_session is not None:
            await self._own_session.close()
            self._own_session = None


def _outcome(audits: AuditUseCase, fetched: FetchResult, job: AuditJob | None) -> AuditOutcome:
    """Score ``fetched`` (CPU work: called in a thread) and make the worker's outcome: the report
    with what the buttons under a chat report need (25 suspicious accounts and every verdict, for
    the CSV) and the chart's PNG bytes; ``job`` (None for an uploaded export, which no review
    can name): the audit whose scored sample rides along for the worker to keep."""
    from bot.audit.report import report_actions

    audit = audits.score_now(fetched)
    report, followers = audit.report, audit.followers
    actions = report_actions(audit.scored.verdicts, followers, threshold=audit.config.threshold)
    data = dataclasses.replace(audit.to_report(), actions=actions)
    png = audit.chart_png()
    sample = None
    if job is not None and followers:
        share = report.fake_share
        sample = ScoredSample.of(
            platform=job.platform, handle=job.handle, audit_id=job.job_id,
            model_version=report.model_version, accounts=followers,
            probabilities=audit.probabilities, fake_share=(share.estimate, share.low, share.high),
        )  # fmt: skip
    return AuditOutcome(report=data, chart=png, sample=sample)


def build_runner(settings: Settings, context: RunnerContext) -> PlatformAuditRunner:
    return PlatformAuditRunner(
        settings, context.budgets, context.uploads, session=context.session, model=context.model
    )
