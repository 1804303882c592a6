"""The buttons under a report, one mechanism for every chat (issue 17).

A button carries all a press needs, ``fa:<action>:<job id>[:<offset>]`` (about 45 bytes, inside
Telegram's 64 of callback data and Discord's 100 of ``custom_id``): the report is the job's
stored outcome, and the request behind it (for "Re-run fresh") is the chat's job record, written
when the report is shown. So a button works across restarts with no state in the bot, and
expires with the record (each chat's ``ChatState`` time to live) or the outcome.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bot.chat.conversation import Result
from bot.chat.state import ChatState, JobRecord
from bot.pipeline.report import Report
from bot.pipeline.service import AuditService

__all__ = ["ACTIONS", "TEMPLATE", "ReportButtons", "ReportPress"]

#: more suspicious accounts, the reason breakdown, a CSV of the verdicts, re-run fresh.
ACTIONS: Final = ("more", "why", "csv", "redo")
#: A button's data (Discord's ``DynamicItem`` matches it whole).
TEMPLATE: Final = (
    r"fa:(?P<action>more|why|csv|redo):(?P<job>[0-9a-f]{1,64})(?::(?P<offset>\d{1,6}))?"
)
_PATTERN: Final = re.compile(TEMPLATE)


@dataclass(frozen=True, slots=True)
class ReportPress:
    """A button: what to do with which job's report; ``offset`` the first account of a page."""

    action: str
    job_id: str
    offset: int = 0

    @property
    def data(self) -> str:
        return f"fa:{self.action}:{self.job_id}" + (f":{self.offset}" if self.offset else "")

    @classmethod
    def parse(cls, data: str | None) -> ReportPress | None:
        """The press ``data`` names; None for anything that is not one of ours."""
        match = _PATTERN.fullmatch(data or "")
        if match is None:
            return None
        return cls(match["action"], match["job"], int(match["offset"] or 0))


@dataclass(eq=False)
class ReportButtons:
    """What a press reads: the job's report from the audit service, its request from the
    chat's job records."""

    service: AuditService
    state: ChatState

    async def remember(self, result: Result) -> None:
        """Keep the request behind a shown report, for its "Re-run fresh"."""
        if result.outcome.ok and result.job_id:
            await self.state.remember_job(result.job_id, result.request)

    async def report(self, job_id: str) -> Report | None:
        """The job's report, None once its outcome has expired (or it failed)."""
        outcome = await self.service.result(job_id)
        return None if outcome is None else outcome.report

    async def record(self, job_id: str) -> JobRecord | None:
        return await self.state.job(job_id)
