"""Run the re-audits that are due: audit each watched account once, compare every watch of it
with its own history, post one alert per watch that changed (a digest when many go to one chat),
then record the audits. A watch is recorded only after its alert was accepted, so an alert the
chat never took is tried again on the next run rather than lost."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field

from bot.alerts.auditor import Auditor, AuditResult
from bot.alerts.model import ChatPrefs, ChatRef, Watch
from bot.alerts.posters import AlertPoster, PostError
from bot.alerts.render import AlertMessage, alert_message, digest_message, notice_message
from bot.alerts.schedule import backoff, next_slot
from bot.alerts.store import WatchStore
from bot.settings import AlertSettings
from bot.sources.errors import SourceError
from scoring.audit.compare import Change, CompareConfig, Snapshot, compare

__all__ = ["AlertRunner", "RunReport"]

log = logging.getLogger("followaudit.alerts")

#: Due time of a paused watch (far away; ``/watch`` again resumes it at once).
PAUSED_UNTIL = 2.0**62
#: A claimed watch is left to other runners for this long (a crashed runner's claim expires).
CLAIM_SECONDS = 900


@dataclass
class RunReport:
    """What one run did."""

    audited: int = 0
    alerts: int = 0
    digests: int = 0
    notices: int = 0
    #: Re-audits that failed at the platform (retried with backoff).
    failed: int = 0
    #: Alerts or notices the chat did not accept (tried again next run).
    unposted: int = 0
    skipped: int = 0
    posted: list[tuple[ChatRef, AlertMessage]] = field(default_factory=list)


@dataclass
class _Outcome:
    watch: Watch
    snapshot: Snapshot | None = None
    change: Change | None = None
    result: AuditResult | None = None
    error: SourceError | None = None
    alerted: list[list[str]] = field(default_factory=list)
    crashed: bool = False


@dataclass(eq=False, repr=False)
class AlertRunner:
    """One pass over the due watches; built by the command that starts the process."""

    store: WatchStore
    auditor: Auditor
    posters: Mapping[str, AlertPoster]
    settings: AlertSettings
    _: KW_ONLY
    clock: Callable[[], float] = time.time
    compare_config: CompareConfig | None = None
    charts: bool = True
    #: Re-audit interval per chat chosen with ``/alerts every`` (read at each run).
    _intervals: dict[str, float] = field(default_factory=dict, init=False)

    # -- scheduling -------------------------------------------------------------------------
    def next_due(self, watch: Watch, now: float) -> float:
        s = self.settings
        interval = self._intervals.get(watch.chat.key, s.interval_seconds)
        return next_slot(watch.id, now, interval, s.spread)

    async def run_due(self, *, all_watches: bool = False) -> RunReport:
        """Every re-audit due now (``all_watches``: every watch), once each."""
        now = self.clock()
        ids = await (self.store.all_ids() if all_watches else self.store.due_ids(now))
        report = RunReport()
        watches = []
        prefs: dict[str, ChatPrefs] = {}
        for wid in ids:
            watch = await self.store.get(wid)
            if watch is None or watch.paused:
                report.skipped += 1
                continue
            chat = watch.chat.key
            if chat not in prefs:
                prefs[chat] = await self.store.prefs(watch.chat)
                if prefs[chat].interval_seconds:
                    self._intervals[chat] = prefs[chat].interval_seconds
                else:
                    self._intervals.pop(chat, None)
            if prefs[chat].off:  # /alerts off: keep the watch, look again at its next slot
                report.skipped += 1
                await self.store.reschedule(wid, self.next_due(watch, now))
                continue
            if not await self.store.claim(wid, CLAIM_SECONDS):
                report.skipped += 1  # another runner has it
                continue
            watches.append(watch)
        try:
            outcomes = await self._audit_all(watches, now)
            await self._post_and_record(outcomes, now, report)
        finally:
            for watch in watches:
                await self.store.unclaim(watch.id)
        return report

    # -- auditing ---------------------------------------------------------------------------
    async def _audit_all(self, watches: Sequence[Watch], now: float) -> list[_Outcome]:
        by_account: dict[tuple[str, str], list[Watch]] = defaultdict(list)
        for w in watches:
            by_account[(w.platform, w.handle)].append(w)
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def one(account: tuple[str, str], group: list[Watch]) -> list[_Outcome]:
            async with limit:
                try:
                    result = await self.auditor.audit(*account)
                except SourceError as exc:
                    return [_Outcome(w, error=exc) for w in group]
            return [await self._compare(w, result, now) for w in group]

        groups = await asyncio.gather(*(one(a, g) for a, g in by_account.items()),
                                      return_exceptions=True)  # fmt: skip
        out: list[_Outcome] = []
        for (_, group), found in zip(by_account.items(), groups, strict=True):
            if isinstance(found, BaseException):
                log.error("re-audit failed", exc_info=found,
                          extra={"watches": [w.id for w in group]})  # fmt: skip
                out += [_Outcome(w, error=SourceError("internal error"), crashed=True)
                        for w in group]  # fmt: skip
            else:
                out += found
        return out

    async def _compare(self, watch: Watch, result: AuditResult, now: float) -> _Outcome:
        history = await self.store.history(watch.id, self.settings.history)
        previous = history[-1] if history else None
        snapshot = result.snapshot(previous, now)
        alerted = await self.store.alerted(watch.id)
        change = compare(
            history, snapshot, threshold_points=watch.threshold, alerted=alerted,
            config=self.compare_config,
        )  # fmt: skip
        new_alerted = [sorted(b.members) for b in change.new_bursts]
        return _Outcome(watch, snapshot, change, result, alerted=new_alerted)

    # -- posting and recording --------------------------------------------------------------
    async def _post_and_record(
        self, outcomes: list[_Outcome], now: float, report: RunReport
    ) -> None:
        per_dest: dict[ChatRef, list[_Outcome]] = defaultdict(list)
        notices: list[tuple[ChatRef, _Outcome]] = []
        for o in outcomes:
            if o.error is not None:
                if o.error.retryable or o.crashed:
                    await self._failed(o.watch, now, report)
                    continue
                notices.append((await self.store.destination(o.watch.chat), o))
                continue
            report.audited += 1
            if o.change is not None and o.change.fired:
                per_dest[await self.store.destination(o.watch.chat)].append(o)
            else:
                await self._record(o, now, alerted=False)
        for dest, group in per_dest.items():
            if len(group) >= self.settings.digest_min:
                items = [(o.watch, o.change) for o in group if o.change is not None]
                if await self._post(dest, digest_message(items, now), report):
                    report.digests += 1
                    report.alerts += len(group)
                    for o in group:
                        await self._record(o, now, alerted=True)
                else:
                    for o in group:
                        await self._failed(o.watch, now, report, unposted=True)
                continue
            for o in group:
                assert o.change is not None and o.result is not None
                chart = (
                    await asyncio.to_thread(o.result.chart_png, o.watch.label)
                    if self.charts
                    else None
                )
                if await self._post(dest, alert_message(o.watch, o.change, now, chart), report):
                    report.alerts += 1
                    await self._record(o, now, alerted=True)
                else:
                    await self._failed(o.watch, now, report, unposted=True)
        for dest, o in notices:
            assert o.error is not None
            text = "can no longer be audited ({}). Alerts paused; /watch it again to resume."
            if await self._post(dest, notice_message(o.watch, text, o.error.message), report):
                report.notices += 1
                await self.store.put(o.watch.with_(paused=o.error.message[:300], failures=0))
                await self.store.reschedule(o.watch.id, PAUSED_UNTIL)
            else:
                await self._failed(o.watch, now, report, unposted=True)

    async def _post(self, dest: ChatRef, message: AlertMessage, report: RunReport) -> bool:
        poster = self.posters.get(dest.adapter)
        if poster is None:
            log.error("no poster for this chat platform", extra={"adapter": dest.adapter})
            return False
        try:
            await poster.post(dest, message)
        except PostError as exc:
            log.warning("alert not accepted", extra={"adapter": dest.adapter, "error": str(exc)})
            return False
        report.posted.append((dest, message))
        return True

    async def _record(self, o: _Outcome, now: float, *, alerted: bool) -> None:
        assert o.snapshot is not None
        watch = o.watch.with_(
            last_audit_at=now, failures=0, last_alert_at=now if alerted else o.watch.last_alert_at,
            last_audit=o.snapshot.audit_id, baseline_audit=o.watch.baseline_audit
            or o.snapshot.audit_id,
        )  # fmt: skip
        await self.store.record(
            watch, o.snapshot, keep=self.settings.history,
            alerted=o.alerted if alerted else None,
            max_alerted=self.settings.max_alerted_members,
        )  # fmt: skip
        due = self.next_due(watch, now)
        if alerted:
            due = max(due, now + self.settings.cooldown_seconds)
        await self.store.reschedule(watch.id, due)

    async def _failed(
        self, watch: Watch, now: float, report: RunReport, *, unposted: bool = False
    ) -> None:
        if unposted:
            report.unposted += 1
        else:
            report.failed += 1
        failures = watch.failures + 1
        await self.store.put(watch.with_(failures=failures))
        retry = now + backoff(failures, self.settings.interval_seconds)
        await self.store.reschedule(watch.id, min(retry, self.next_due(watch, now)))
