"""Discord renderings of reports (from the typed ``Report``), alerts, progress and button
answers: plain dicts and strings (pure). Discord's one renderer, for reports and alerts alike.

Every platform-controlled string (handles, display names, reasons) goes through
``escape_markdown`` (``MARKUP`` for alerts and the text fallback of a report); accounts are
masked links to their profiles; every embed is passed through ``fit_embed`` so that Discord's
limits are met by trimming, never by an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from bot.alerts.render import AlertMessage
from bot.discord.format import CONTENT_LIMIT, escape_markdown, fit_embed, masked_link, truncate
from bot.pipeline.messages import CHART_NAME, Progress, UserError
from bot.pipeline.report import NamedSuspect, Report
from bot.sources.handles import ACCEPTED_FORMS
from scoring.audit.bursts import Burst
from scoring.audit.profiles import display_handle, profile_url
from scoring.audit.render import MARKDOWN, render
from scoring.audit.report import SampleInfo
from scoring.audit.samples import SuspiciousAccount

__all__ = [
    "CHART_NAME",
    "GRADE_COLOURS",
    "HELP",
    "MARKUP",
    "alert_markdown",
    "breakdown_embed",
    "error_text",
    "handle_label",
    "more_text",
    "progress_text",
    "report_embed",
    "report_text",
]

GRADE_COLOURS = {
    "A": 0x2ECC71,
    "B": 0x7DCEA0,
    "C": 0xF1C40F,
    "D": 0xE67E22,
    "F": 0xE74C3C,
}
NO_GRADE_COLOUR = 0x95A5A6
#: Discord's one markup, for reports and alerts alike: Markdown, platform text through
#: ``escape_markdown`` (``bot.discord.format``).
MARKUP: Final = dataclasses.replace(MARKDOWN, esc=escape_markdown)
_SHOWN_ACCOUNTS = 5
_SHOWN_BURSTS = 5
_ORDER_WORDS = {"newest": "most recent", "newest_first": "most recent"}

HELP = (
    "**FollowAudit** estimates how many of an account's followers look fake, inactive or bought "
    "in bursts.\n\n"
    "**/audit** `handle` [`sample`] [`fresh`] audits the newest followers (sample: how many to "
    "read; fresh: ignore a recent cached result). Attach a follower export (CSV, JSON or JSON "
    "Lines) with the `export` option, or right-click a message with an export and choose "
    "*Apps → Audit export*.\n\n"
    "**Handle forms**: " + escape_markdown(ACCEPTED_FORMS) + ". A bare name goes to Bluesky.\n"
    "**Platforms**: Bluesky, Mastodon, X (when configured), and uploaded exports from any "
    "platform.\n\n"
    "Buttons under a report show more suspicious accounts, the full reason breakdown, a CSV of "
    "every verdict, or re-run the audit fresh. Works in servers and in DMs.\n\n"
    "**Team alerts**: **/watch** `handle` [`threshold`] re-audits an account every few hours "
    "and posts here when fakes arrive (threshold in percentage points, default 5); "
    "**/unwatch** `handle` stops; **/watchlist** shows what this channel watches (anyone may "
    "read it); **/alerts** shows where and when alerts go; with `channel` it moves them (`here`, "
    "or a #channel of this server) or pauses and resumes them (`off`, `on`), with `every` it sets "
    "how often accounts are re-audited (e.g. `12h`). Changing a watchlist needs Manage Server.\n\n"
    "**Reviews**: **/review** `handle` [`what`] shows followers of the latest audit drawn at "
    "random (`what`: how many, 1 to 100, default 25) to label Fake, Genuine or Can't tell; "
    "`what:results` shows the reviewed fake share beside the audit's. **/metrics**: the model "
    "on all labels so far. Labelling needs Manage Server or a place in the bot's reviewers."
)


def handle_label(platform: str, handle: str) -> str:
    """``@alice.bsky.social`` style, unescaped (escape where it is shown)."""
    if platform == "upload":
        return handle
    return display_handle(platform, handle, handle)


def progress_text(label: str, progress: Progress) -> str:
    """One progress line (never a grade): ``Auditing @x: fetching 400 of 1,000 followers``."""
    return truncate(f"⏳ Auditing {escape_markdown(label)}: {progress.describe()}…", CONTENT_LIMIT)


def error_text(label: str, error: UserError) -> str:
    return truncate(
        f"⚠️ Audit of {escape_markdown(label)}: {escape_markdown(error.message)}", CONTENT_LIMIT
    )


def _pct(value: float) -> str:
    return f"{round(100 * value)}%"


def _share(centre: float | None, low: float | None, high: float | None) -> str:
    if centre is None:
        return "unknown"
    if low is None or high is None:
        return _pct(centre)
    return f"{_pct(centre)} ({_pct(low)[:-1]}–{_pct(high)})"


def _sample_text(sample: SampleInfo) -> str:
    size, total = sample.size, sample.total
    if size == 0:
        return "no followers"
    if sample.order in _ORDER_WORDS:
        what = _ORDER_WORDS[sample.order]
        if total is not None and total > size:
            text = f"the {size:,} {what} of {total:,} followers"
        elif total is not None:
            text = f"all {size:,} followers"
        else:
            text = f"the {size:,} {what} followers"
        return text + " (newest first)"
    return f"{size:,} followers, in the order of the uploaded file"


def _account_line(row: SuspiciousAccount, name: str | None = None) -> str:
    shown = display_handle(row.platform, row.id or "?", row.handle or None)
    url = profile_url(row.platform, row.handle) if row.handle else None
    link = masked_link(shown[:80], url) if url else escape_markdown(shown[:80])
    if name and name.strip():
        link += f" ({escape_markdown(' '.join(name.split())[:60])})"
    why = "; ".join(escape_markdown(r[:100]) for r in row.reasons[:3])
    return f"• {link} {_pct(row.fake_probability)}" + (f": {why}" if why else "")


def _lines_within(lines: Sequence[str], limit: int) -> str:
    """Whole lines up to ``limit`` characters, ending with a count of what was left out."""
    reserve = 24  # room for "… and N more"
    out: list[str] = []
    used = 0
    for n, raw in enumerate(lines):
        line = truncate(raw, max(limit - reserve, 1))
        room = limit - used - (0 if n == len(lines) - 1 else reserve)
        if len(line) + (1 if out else 0) > room:
            out.append(f"… and {len(lines) - n} more")
            break
        used += len(line) + (1 if out else 0)
        out.append(line)
    return "\n".join(out)


def _burst_line(burst: Burst) -> str:
    start, end = burst.start, burst.end
    share = _share(burst.fake_share, burst.low, burst.high)
    text = f"• followers {start + 1:,}–{end + 1:,} ({end - start + 1:,}): {share} fake"
    if burst.created_from is not None and burst.created_to is not None:
        text += f", created {_day(burst.created_from)} to {_day(burst.created_to)}"
    return escape_markdown(text)


def _day(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def report_embed(report: Report, *, chart: bool, cached_age: str | None = None) -> dict[str, Any]:
    """The report as one embed dict: grade as title and colour, shares, sample, bursts,
    suspicious accounts linked to their profiles, model version in the footer."""
    platform, handle, name = report.target
    r = report.audit
    label = handle_label(platform, handle) if handle else "this audience"
    title = f"{r.grade_label} · {label}"
    verdict = escape_markdown(r.verdict)
    description = verdict
    if name and name.strip():
        description = f"{escape_markdown(' '.join(name.split())[:80])}\n{verdict}"
    if cached_age:
        description += f"\n*Cached result from {escape_markdown(cached_age)} ago.*"
    share = r.fake_share
    fields: list[dict[str, Any]] = [
        {"name": "Fake followers", "value": _share(share.estimate, share.low, share.high),
         "inline": True}
    ]  # fmt: skip
    inactive = r.inactive
    if inactive is not None:
        value = _share(inactive.share, inactive.low, inactive.high)
        value += f" of {inactive.known:,} with known activity ({inactive.days}+ days silent)"
        fields.append({"name": "Inactive", "value": value, "inline": True})
    fields.append({"name": "Sample", "value": _sample_text(r.sample), "inline": False})
    bursts = r.bursts
    fields.append(
        {
            "name": f"Bursts ({len(bursts)})" if bursts else "Bursts",
            "value": _lines_within([_burst_line(b) for b in bursts[:_SHOWN_BURSTS]], 1024)
            if bursts
            else "none found",
            "inline": False,
        }
    )
    if r.suspicious:
        flagged = r.flagged or len(r.suspicious)
        shown = r.suspicious[:_SHOWN_ACCOUNTS]
        fields.append(
            {
                "name": f"Suspicious accounts ({len(shown)} of {flagged:,} flagged)",
                "value": _lines_within([_account_line(s) for s in shown], 1024),
                "inline": False,
            }
        )
    url = profile_url(platform, handle) if handle and platform != "upload" else None
    footer = f"Model {r.model_version or '?'}"
    if share.method:
        footer += f" · estimate by {share.method}"
    if share.view and share.view != "full":
        footer += f" ({share.view} view)"
    embed: dict[str, Any] = {
        "type": "rich",
        "title": escape_markdown(title),
        "description": description,
        "color": GRADE_COLOURS.get(str(r.grade), NO_GRADE_COLOUR),
        "fields": fields,
        "footer": {"text": footer},
    }
    if url:
        embed["url"] = url
    if chart:
        embed["image"] = {"url": f"attachment://{CHART_NAME}"}
    return fit_embed(embed)


def more_text(label: str, rows: Sequence[NamedSuspect], offset: int, total: int) -> tuple[str, int]:
    """Suspicious accounts ``rows`` (from ``offset`` of ``total``) as one message within 2,000
    characters, and how many of them it shows (whole lines; the rest start the next page)."""
    if not rows:
        return f"No more suspicious accounts in the audit of {escape_markdown(label)}.", 0
    lines = [_account_line(r, r.display_name) for r in rows]
    shown = len(lines)
    while True:
        head = (
            f"Suspicious accounts {offset + 1:,}–{offset + shown:,} of {total:,} kept "
            f"from the audit of {escape_markdown(label)}:"
        )
        text = "\n".join([head, *lines[:shown]])
        if len(text) <= CONTENT_LIMIT or shown == 1:
            return truncate(text, CONTENT_LIMIT), shown
        shown -= 1


def breakdown_embed(
    label: str, counts: Sequence[tuple[str, int]], flagged: int, sample: int
) -> dict[str, Any]:
    """Every reason and how many flagged accounts give it."""
    if counts:
        lines = [f"• {escape_markdown(reason)}: {count:,}" for reason, count in counts]
        description = _lines_within(lines, 4000)
    else:
        description = "No account in the sample was flagged."
    return fit_embed(
        {
            "type": "rich",
            "title": escape_markdown(f"Reasons · {label}"),
            "description": description,
            "footer": {
                "text": f"{flagged:,} flagged of {sample:,} sampled; an account can "
                "give several reasons"
            },
        }
    )


def report_text(report: Report) -> str:
    """The report as one Markdown message (when Discord refuses its embed)."""
    return render(report.audit, MARKUP, limit=CONTENT_LIMIT)


def alert_markdown(message: AlertMessage) -> str:
    """An alert (``bot.alerts.render``) in Discord Markdown."""
    return message.render(MARKUP)
