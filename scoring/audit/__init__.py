"""The audit: from scored followers to a report you can trust (pure: no I/O, no asyncio).

The chart (``scoring.audit.chart``) is kept out of this namespace so that matplotlib loads only
when a chart is drawn.
"""

from scoring.audit.bursts import Burst, BurstBar, BurstConfig, find_bursts
from scoring.audit.grade import (
    GRADES,
    GradeBands,
    GradeCall,
    grade_call,
    grade_for,
    grade_label,
    share_text,
    verdict_for,
)
from scoring.audit.inactive import InactiveShare, estimate_inactive
from scoring.audit.profiles import display_handle, profile_url
from scoring.audit.quantify import ShareEstimate, estimate_fake_share
from scoring.audit.render import (
    chart_title,
    render_html,
    render_json,
    render_markdown,
    render_text,
)
from scoring.audit.report import (
    AuditConfig,
    AuditReport,
    SampleInfo,
    audit_accounts,
    build_report,
    score_and_report,
)
from scoring.audit.samples import SuspiciousAccount, count_reasons, pick_suspicious

__all__ = [
    "GRADES",
    "AuditConfig",
    "AuditReport",
    "Burst",
    "BurstBar",
    "BurstConfig",
    "GradeBands",
    "GradeCall",
    "InactiveShare",
    "SampleInfo",
    "ShareEstimate",
    "SuspiciousAccount",
    "audit_accounts",
    "build_report",
    "chart_title",
    "count_reasons",
    "display_handle",
    "estimate_fake_share",
    "estimate_inactive",
    "find_bursts",
    "grade_call",
    "grade_for",
    "grade_label",
    "pick_suspicious",
    "profile_url",
    "render_html",
    "render_json",
    "render_markdown",
    "render_text",
    "score_and_report",
    "share_text",
    "verdict_for",
]
