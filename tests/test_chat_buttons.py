"""The one button mechanism of every chat (``bot.chat.buttons``): a press's data, and the
request behind a report kept in the chat's job records (real Redis)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.chat.buttons import ACTIONS, ReportButtons, ReportPress
from bot.chat.conversation import Result
from bot.chat.state import ChatState, JobRecord
from bot.pipeline.messages import AuditOutcome, AuditRequest, ReplyTo, UserError
from bot.pipeline.service import AuditService
from tests.reports import make_report

JOB = "0123456789abcdef0123456789abcdef"


def test_a_press_round_trips_through_its_data_and_fits_telegram() -> None:
    for action in ACTIONS:
        for offset in (0, 15, 999_999):
            press = ReportPress(action, JOB, offset)
            assert ReportPress.parse(press.data) == press and len(press.data.encode()) <= 64
    assert ReportPress("more", JOB).data == f"fa:more:{JOB}"
    for bad in (None, "", "fa:more:", "fa:drop:abc", f"fa:more:{JOB.upper()}", "m:abcdefgh",
                f"fa:more:{JOB}:1234567", f"fa:more:{JOB} "):  # fmt: skip
        assert ReportPress.parse(bad) is None


async def test_a_shown_report_keeps_the_request_behind_it(
    redis: Any, make_settings: Callable[..., Any]
) -> None:
    settings = make_settings()
    buttons = ReportButtons(AuditService.from_settings(redis, settings),
                            ChatState(redis, prefix="t:", adapter="memory", ttl=60))  # fmt: skip
    reply = ReplyTo("memory", {})
    request = AuditRequest(
        "bluesky", "alice.bsky.social", 500, user="memory:1", chat="memory:2", reply=reply
    )
    await buttons.remember(Result(request, JOB, AuditOutcome(report=make_report())))
    assert await buttons.record(JOB) == JobRecord("bluesky", "alice.bsky.social", 500)
    assert 0 < await redis.ttl(f"t:memory:job:{JOB}") <= 60
    # a failed audit has no buttons, so nothing is kept; an unknown job has no report
    failed = AuditOutcome(error=UserError("x", "no"))
    await buttons.remember(Result(request, "f" * 32, failed))
    assert await buttons.record("f" * 32) is None
    assert await buttons.report(JOB) is None
