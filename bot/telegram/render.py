"""Telegram HTML for each moment of an audit: the first answer, progress, the report (rendered
here from the typed ``Report``), the chart caption and the button actions, and for alerts.
Telegram's one renderer (``MARKUP``); pure: no Telegram import, no I/O.

Every platform-controlled string (names, handles, reasons, file names) goes through
``scoring.audit.escape.escape_html`` (entities escaped, control characters removed, chat mentions
broken, length bounded); every message is split or trimmed within the Bot API's limits by
``bot.telegram.format`` without breaking markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from bot.alerts.render import AlertMessage
from bot.infra import durations
from bot.pipeline.messages import AuditOutcome, Progress
from bot.pipeline.report import NamedSuspect, Report
from bot.pipeline.service import Submission
from bot.telegram.format import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    escape,
    split_html,
    truncate_html,
)
from scoring.audit.escape import escape_html
from scoring.audit.profiles import display_handle, profile_url
from scoring.audit.render import HTML, render

__all__ = [
    "MARKUP",
    "MAX_PARTS",
    "accounts_html",
    "alert_html",
    "chart_caption",
    "help_html",
    "label",
    "placeholder_html",
    "progress_bar",
    "progress_html",
    "reasons_html",
    "report_parts",
    "submission_html",
]

#: A report never takes more than this many messages (the rest is trimmed with an ellipsis).
MAX_PARTS: Final = 3
_BAR: Final = 12
_NO_REPORT: Final = "The audit finished without a report."
#: Telegram's one markup, for reports and alerts alike: HTML, platform text through
#: ``escape_html`` (entities escaped, control characters removed, mentions broken, bounded).
MARKUP: Final = HTML
_PREFIX: Final = {"bluesky": "bsky"}


def label(platform: str, handle: str) -> str:
    """``bsky:alice.bsky.social``: how the bot names an audited account (raw: escape it)."""
    return f"{_PREFIX.get(platform, platform)}:{handle}"


def help_html(lines: Sequence[str]) -> str:
    first, *rest = lines
    return "\n".join([f"<b>{escape(first)}</b>", *(escape(line) for line in rest)])


def progress_bar(done: int | None, total: int | None, stage: str) -> str:
    """A text bar: fetching fills it to 90%, scoring to 95%."""
    if stage == "scoring":
        fill = 0.95
    elif stage == "fetching" and total:
        fill = 0.9 * min(1.0, max(0.0, (done or 0) / total))
    else:
        fill = 0.0
    full = round(fill * _BAR)
    return "▓" * full + "░" * (_BAR - full)


def _title(platform: str, handle: str) -> str:
    return f"Audit of <b>{escape_html(label(platform, handle), 120)}</b>"


def placeholder_html(platform: str, handle: str) -> str:
    """The instant first answer, replaced as soon as the service has the request."""
    return f"{_title(platform, handle)}\n{progress_bar(0, 1, 'queued')} submitting…"


def submission_html(sub: Submission) -> str:
    """The first answer: queued (position), joined a running audit, or refused."""
    req = sub.request
    title = _title(req.platform, req.handle)
    if sub.status == "queued":
        return f"{title}\n{progress_bar(0, 1, 'queued')} queued, position {sub.position or 1}"
    if sub.status == "coalesced":
        return f"{title}\n{progress_bar(0, 1, 'queued')} joined the audit already running"
    if sub.status == "refused" and sub.refusal is not None:
        return f"⚠️ {escape(sub.refusal.message)}"
    return f"{title}\n{escape(sub.describe())}"


def progress_html(platform: str, handle: str, progress: Progress) -> str:
    """A progress update: the bar and plain words (never a grade)."""
    bar = progress_bar(progress.done, progress.total, progress.stage)
    return f"{_title(platform, handle)}\n{bar} {escape(progress.describe())}"


def _subject_line(report: Report) -> str | None:
    """The audited account's display name (escaped), linked by its handle, when known."""
    platform, handle, name = report.target
    if not name:
        return None
    line = f"👤 {escape_html(name, 80)}"
    url = profile_url(platform, handle) if handle else None
    if url and handle:
        line += f' (<a href="{escape(url)}">{escape_html("@" + handle, 80)}</a>)'
    return line


def report_parts(outcome: AuditOutcome, *, note: str | None = None) -> list[str]:
    """The report as one to three messages of Telegram HTML (the first replaces the progress
    message); an error outcome is one line."""
    if not outcome.ok:
        assert outcome.error is not None
        return [f"⚠️ {escape(outcome.error.message)}"]
    report = outcome.report
    body = render(report.audit, MARKUP, limit=MESSAGE_LIMIT) if report is not None else _NO_REPORT
    head = []
    if note:
        head.append(f"<i>{escape(note)}</i>")
    subject = _subject_line(report) if report is not None else None
    if subject:
        head.append(subject)
    markup = "\n".join([*head, body])
    return split_html(markup, MESSAGE_LIMIT, max_parts=MAX_PARTS)


def cached_note(sub: Submission) -> str:
    return f"From a cached audit {durations.age(sub.age or 0)} old; add 'fresh' to run it anew."


def _who(report: Report, nobody: str) -> str:
    """The audited account's label, escaped, or ``nobody`` when the report names none."""
    platform, handle, _name = report.target
    return escape_html(label(platform, handle), 120) if handle else nobody


def chart_caption(report: Report) -> str:
    """A short caption: whose chart, the grade and the fake share."""
    share = report.audit.fake_share
    parts = [f"Fake-probability chart of <b>{_who(report, 'this account')}</b>"]
    graded = report.audit.grade_label
    if graded != "No grade":
        parts.append(escape(graded))
    if share.estimate is not None:
        text = f"fake {round(100 * share.estimate)}%"
        if share.low is not None and share.high is not None:
            text += f" ({round(100 * share.low)}–{round(100 * share.high)}%)"
        parts.append(text)
    return truncate_html(" · ".join(parts), CAPTION_LIMIT)


def _account_line(number: int, account: NamedSuspect) -> str:
    platform, handle = account.platform, account.handle
    shown = escape_html(display_handle(platform, account.id or "?", handle or None), 80)
    url = profile_url(platform, handle) if handle else None
    who = f'<a href="{escape(url)}">{shown}</a>' if url else shown
    if account.display_name:
        who += f" ({escape_html(account.display_name, 60)})"
    prob = f", {round(100 * account.fake_probability)}%"
    reasons = [escape_html(r, 100) for r in account.reasons[:4]]
    tail = ": " + "; ".join(reasons) if reasons else ""
    return f"{number}. {who}{prob}{tail}"


def accounts_html(report: Report, *, start: int = 0) -> list[str]:
    """The suspicious accounts from ``start`` on (the report showed the first ones)."""
    who = _who(report, "this audit")
    rest = report.accounts[start:]
    if not rest:
        return [f"No more suspicious accounts in the sample of {who}."]
    of = f" of {report.audit.flagged:,} flagged"
    lines = [f"<b>Suspicious accounts of {who}</b> ({start + 1}–{start + len(rest)}{of})"]
    lines.extend(_account_line(start + i + 1, a) for i, a in enumerate(rest))
    return split_html("\n".join(lines), MESSAGE_LIMIT, max_parts=MAX_PARTS)


def reasons_html(report: Report) -> list[str]:
    """Every reason among the flagged accounts, with counts and shares."""
    pairs = report.reasons()
    who = _who(report, "this audit")
    if not pairs:
        return [f"No account in the sample of {who} was flagged, so there are no reasons."]
    total = report.audit.flagged or None
    lines = [f"<b>Why accounts of {who} were flagged</b>" + (
        f" ({total:,} flagged)" if total else "")]  # fmt: skip
    for reason, count in pairs:
        share = f" ({round(100 * count / total)}%)" if total else ""
        lines.append(f"• {escape_html(reason, 100)}: {count:,}{share}")
    return split_html("\n".join(lines), MESSAGE_LIMIT, max_parts=MAX_PARTS)


def alert_html(message: AlertMessage) -> str:
    """An alert (``bot.alerts.render``) in Telegram HTML."""
    return message.render(MARKUP)
