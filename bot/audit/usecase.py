"""The one audit use case: a target and a sample in, a typed ``Audit`` out.

``AuditUseCase.run`` fetches the target's newest followers through ``bot.sources`` on the caller's
HTTP session (under its request gate), incrementally when asked: resuming a saved ``Checkpoint``
and saving one a page at a time (the worker), or reading only the followers newer than a
remembered sample (the alerts' re-audits); then scores them and builds the report in a thread, so
the event loop keeps its pace. Every caller uses it and only decides what to do with the result:
the worker's runner (``bot.audit.runner``), ``followaudit audit`` (``bot.commands.audit``) and the
alerts' re-audits (``bot.alerts.auditor``)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Unpack

from scoring.audit import AuditConfig, AuditReport, score_and_report
from scoring.audit.report import share_probabilities

if TYPE_CHECKING:
    import aiohttp

    from bot.pipeline.report import Report
    from bot.pipeline.runner import Checkpoint
    from bot.settings import Settings
    from bot.sources.base import Checkpoint as SourceCheckpoint
    from bot.sources.base import FetchResult, FollowerSource, ProgressCallback, RequestGate
    from bot.sources.handles import Handle
    from scoring.account import Account
    from scoring.audit.types import ScoredLike
    from scoring.model import FloatArray, Model

__all__ = ["Audit", "AuditUseCase", "FollowerMemory"]

log = logging.getLogger("followaudit.audit")


class FollowerMemory(Protocol):
    """The followers an account had at its previous audit (``bot.alerts.memory`` keeps them)."""

    async def recall(self, platform: str, handle: str) -> list[Account]: ...

    async def remember(self, platform: str, handle: str, followers: Sequence[Account]) -> None: ...


class FetchHow(TypedDict, total=False):
    """How ``AuditUseCase.fetch`` (and ``run``) reads the followers; each option may be left out."""

    #: Told the followers read so far, of how many.
    progress: ProgressCallback | None
    #: Resume from it, and save it after every page.
    checkpoint: Checkpoint | None
    #: Read only the followers newer than the remembered ones, when there are any, and remember
    #: the result for the next audit.
    memory: FollowerMemory | None


@dataclass(frozen=True, slots=True)
class Audit:
    """One finished audit: what was fetched, the scores and the report built on them."""

    fetched: FetchResult
    report: AuditReport
    scored: ScoredLike
    config: AuditConfig
    #: Followers read from the platform by this audit (fewer than the sample when incremental).
    read: int

    @property
    def followers(self) -> list[Account]:
        """The sample, newest first."""
        return self.fetched.followers

    @property
    def probabilities(self) -> FloatArray:
        """Each follower's fake probability, in the sample's order."""
        return self.scored.probabilities

    @property
    def share_probabilities(self) -> FloatArray:
        """The scores the share estimate read (``scoring.audit.report.share_probabilities``, for
        the view the report was read against), in the same order."""
        return share_probabilities(self.scored, self.report.fake_share.view)

    def to_report(self) -> Report:
        """The typed report (``bot.pipeline.report``): scoring's report with the audited account
        (``subject``), the platform's follower count (``sample.of``), the fetch's ``requests`` and
        ``skipped``."""
        from bot.pipeline.report import Report, Sample, Subject

        r, fetched, s = self.report, self.fetched, self.fetched.subject
        subject = Subject(
            fetched.handle.platform, fetched.handle.handle, s.id, s.display_name,
            s.followers_count, s.following_count, s.posts_count, s.created_at,
        )  # fmt: skip
        sample = Sample(r.sample.size, r.sample.total, fetched.order, r.sample.describe(),
                        fetched.followers_total)  # fmt: skip
        return Report(
            dataclasses.replace(r, sample=sample), subject, requests=fetched.requests,
            skipped=fetched.skipped,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The report's JSON shape (``followaudit audit --json``): ``to_report().to_dict()``."""
        return self.to_report().to_dict()

    def chart_png(self, title: str | None = None) -> bytes | None:
        """The report's chart (titled as the report unless ``title``); None without followers.
        CPU work: call it in a thread from async code."""
        if not self.followers:
            return None
        from scoring.audit import chart_title
        from scoring.audit.chart import render_chart

        created = [a.created_at for a in self.followers]
        heading = title if title is not None else chart_title(self.report)
        return render_chart(self.probabilities, created, self.report.bursts, title=heading)


@dataclass(eq=False)
class AuditUseCase:
    """Audits on the caller's HTTP session and model (the composition root's, ``bot.app``).

    ``gate`` (optional) is held around every platform request: the shared budgets plug in there.
    """

    session: aiohttp.ClientSession
    settings: Settings
    model: Model
    _: KW_ONLY
    gate: RequestGate | None = None
    config: AuditConfig = field(default_factory=AuditConfig)

    async def run(
        self, target: Handle, sample: int | None = None, **how: Unpack[FetchHow]
    ) -> Audit:
        """Fetch (``fetch``, reading as ``how`` says) and score; raises
        ``bot.sources.SourceError`` as the source."""
        fetched, read = await self.fetch(target, sample, **how)
        return await self.score(fetched, read=read)

    async def score(self, fetched: FetchResult, *, read: int | None = None) -> Audit:
        """Score a fetched (or uploaded) sample and build its report, in a thread."""
        return await asyncio.to_thread(self.score_now, fetched, read=read)

    def score_now(self, fetched: FetchResult, *, read: int | None = None) -> Audit:
        """``score`` on this thread (CPU work)."""
        scored, report = score_and_report(
            fetched.followers, self.model, config=self.config, total=fetched.followers_total,
            subject=fetched.handle.handle, platform=fetched.handle.platform,
        )  # fmt: skip
        count = len(fetched.followers) if read is None else read
        return Audit(fetched, report, scored, self.config, count)

    async def fetch(
        self, target: Handle, sample: int | None = None, **how: Unpack[FetchHow]
    ) -> tuple[FetchResult, int]:
        """The newest ``sample`` followers of ``target`` (the configured default when None), read
        as ``how`` says, and how many were read from the platform."""
        from bot.sources import source_for

        source = source_for(target.platform, self.session, self.settings, gate=self.gate)
        memory = how.get("memory")
        known = await memory.recall(target.platform, target.handle) if memory else []
        if known:
            size = sample if sample is not None else self.settings.sample.default
            result, read = await _fetch_new(source, target, known, size)
        else:
            progress, checkpoint = how.get("progress"), how.get("checkpoint")
            result = await _fetch_all(source, target, sample, progress, checkpoint)
            read = len(result.followers)
        if memory is not None:
            await memory.remember(target.platform, target.handle, result.followers)
        return result, read


async def _fetch_all(
    source: FollowerSource,
    target: Handle,
    sample: int | None,
    progress: ProgressCallback | None,
    checkpoint: Checkpoint | None,
) -> FetchResult:
    """The whole newest sample, resuming ``checkpoint`` (a fresh read when it is unusable)."""
    if checkpoint is None:
        return await source.fetch(target, sample=sample, progress=progress)
    resume = await checkpoint.load()

    async def on_page(cp: SourceCheckpoint) -> None:
        await checkpoint.save(cp.to_dict())

    try:
        return await source.fetch(
            target, sample=sample, progress=progress, on_page=on_page, resume=resume
        )
    except ValueError:
        if resume is None:
            raise
        log.warning("checkpoint not usable; starting the fetch again")
        return await source.fetch(target, sample=sample, progress=progress, on_page=on_page)


async def _fetch_new(
    source: FollowerSource, target: Handle, known: list[Account], sample: int
) -> tuple[FetchResult, int]:
    """Read page by page (resuming the source's own checkpoint one page further each time) until
    a page meets a remembered follower, the list ends or the sample is full; then put the
    followers read before the first remembered one in front of the remembered sample. Returns
    the result and how many followers were read from the platform."""
    from bot.sources.base import FetchResult

    ids = {a.id for a in known}
    step = min(source.page, sample)
    latest: list[SourceCheckpoint] = []

    def on_page(cp: SourceCheckpoint) -> None:
        latest[:] = [cp]

    want: int = step
    resume: SourceCheckpoint | None = None
    while True:
        result = await source.fetch(target, sample=want, on_page=on_page, resume=resume)
        met = any(a.id in ids for a in result.followers)
        if met or want >= sample or not latest or latest[0].cursor is None:
            break
        resume = latest[0]
        want = min(want + step, sample)
        resume.target, resume.done = want, False
    read = len(result.followers)
    if not met:
        return result, read  # the whole newest sample is new (or the list was all read)
    new: list[Account] = []
    for a in result.followers:
        if a.id in ids:
            break
        new.append(a)
    fresh = {a.id for a in new}
    followers = (new + [a for a in known if a.id not in fresh])[:sample]
    total = result.followers_total
    return FetchResult(
        handle=target, subject=result.subject, followers=followers, followers_total=total,
        requests=result.requests, complete=total is not None and len(followers) >= total,
        skipped=result.skipped,
    ), read  # fmt: skip
