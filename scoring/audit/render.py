"""Render an audit report as plain text, Discord Markdown, Telegram HTML or JSON.

The three text renderings share one layout and differ only in markup and escaping: the grade is
stated once as ``Grade X`` (``Grade X–Y (inconclusive)`` when the evidence supports no letter),
every share is a percentage with its interval (``23% (19–27%)``), each
account is shown by its handle linked to its profile, and the sample's size, how it was drawn and
the model version are always there. Every platform string is escaped for its target. A size
bound (Discord allows 2,000 characters, Telegram 4,096) is met by showing fewer sample accounts.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from scoring.audit.bursts import Burst
from scoring.audit.escape import escape_html, escape_markdown, escape_plain
from scoring.audit.grade import percent, share_text
from scoring.audit.profiles import display_handle, profile_url
from scoring.audit.quantify import ShareEstimate
from scoring.audit.report import AuditReport
from scoring.audit.samples import SuspiciousAccount
from scoring.views import FULL

__all__ = [
    "DISCORD_LIMIT",
    "HTML",
    "MARKDOWN",
    "PLAIN",
    "TELEGRAM_LIMIT",
    "Markup",
    "render",
    "render_html",
    "render_json",
    "render_markdown",
    "render_text",
]

DISCORD_LIMIT: Final = 2000
TELEGRAM_LIMIT: Final = 4096
_SHOWN_REASONS: Final = 3
_SHOWN_COUNTS: Final = 6
_LONG: Final = 400


@dataclass(frozen=True, slots=True)
class Markup:
    """A chat's markup: ``esc`` makes platform text safe (bounded to a length), ``ours`` writes
    our own words, ``bold`` and ``link`` (escaped text, URL) mark text up; lists use ``bullet``.
    A chat renders reports and alerts alike with its one markup."""

    esc: Callable[[str, int], str]
    bold: Callable[[str], str]
    link: Callable[[str, str], str]
    bullet: str
    ours: Callable[[str], str] = str


def _plain_link(text: str, url: str) -> str:
    return f"{text} ({url})"


def _md_link(text: str, url: str) -> str:
    return f"[{text}](<{url}>)"


def _html_link(text: str, url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{text}</a>'


def _html_ours(text: str) -> str:
    return html.escape(text, quote=True)


#: Plain text (terminal, logs, the console chat), Discord Markdown and Telegram HTML.
PLAIN = Markup(escape_plain, lambda s: s, _plain_link, "- ")
MARKDOWN = Markup(escape_markdown, lambda s: f"**{s}**", _md_link, "- ")
HTML = Markup(escape_html, lambda s: f"<b>{s}</b>", _html_link, "• ", _html_ours)


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "?"


def _account(m: Markup, s: SuspiciousAccount) -> str:
    name = m.esc(display_handle(s.platform, s.id, s.handle), 80)
    url = profile_url(s.platform, s.handle)
    shown = m.link(name, url) if url else name
    reasons = "; ".join(m.esc(r, 100) for r in s.reasons[:_SHOWN_REASONS])
    tail = f": {reasons}" if reasons else ""
    return f"{m.bullet}{shown}, {percent(s.fake_probability)}{tail}"


def _burst(m: Markup, b: Burst) -> str:
    share = ShareEstimate(b.fake_share, b.low, b.high, "")
    text = (
        f"followers {b.start + 1:,}–{b.end + 1:,} of the list ({b.size:,} followers): "
        f"{share_text(share)} fake"
    )
    if b.created_from is not None:
        text += f", accounts created {_day(b.created_from)} to {_day(b.created_to)}"
    if b.kind == "cohort":
        text += ", created close together"
    return m.bullet + m.esc(text, _LONG)


def _lines(m: Markup, r: AuditReport, shown: int, with_counts: bool) -> list[str]:
    title = "Follower audit"
    if r.subject:
        who = m.esc(r.subject if r.subject.startswith("@") else "@" + r.subject, 80)
        url = profile_url(r.platform or "", r.subject.removeprefix("@"))
        title += " of " + (m.link(who, url) if url else who)
    out = [m.bold(title), f"{m.bold(r.grade_label)}: {m.esc(r.verdict, _LONG)}"]
    out.append(m.esc(f"Fake followers: {share_text(r.fake_share)}", _LONG))
    if r.inactive is not None:
        ina = r.inactive
        share = ShareEstimate(ina.share, ina.low, ina.high, "")
        out.append(
            m.esc(
                f"Inactive (no post for {ina.days}+ days): {share_text(share)} of the "
                f"{ina.known:,} accounts whose activity is known; counted apart from fakes",
                _LONG,
            )
        )
    out.append(m.esc(f"Sample: {r.sample.describe()}", _LONG))
    if r.bursts:
        out.append(m.esc(f"Bursts that arrived together ({len(r.bursts)}):", _LONG))
        out.extend(_burst(m, b) for b in r.bursts)
    elif r.sample.size:
        out.append(m.esc("Bursts: none found", _LONG))
    if r.suspicious and shown:
        out.append(
            m.esc(
                f"Suspicious accounts ({min(shown, len(r.suspicious))} of {r.flagged:,} flagged):",
                _LONG,
            )
        )
        out.extend(_account(m, s) for s in r.suspicious[:shown])
    if with_counts and r.reason_counts:
        items = list(r.reason_counts.items())[:_SHOWN_COUNTS]
        text = ", ".join(f"{m.esc(k, 60)} {v:,}" for k, v in items)
        out.append(f"{m.esc(f'Reasons among the {r.flagged:,} flagged:', _LONG)} {text}")
    how = f"Model {r.model_version}, estimate by {r.fake_share.method}"
    if r.fake_share.view not in (None, FULL.name):
        how += f" ({r.fake_share.view} view)"
    out.append(m.esc(how, _LONG))
    return out


def render(r: AuditReport, m: Markup, *, limit: int | None = None) -> str:
    """``r`` in markup ``m``; a size bound is met by showing fewer sample accounts, then no
    reason counts."""
    best = ""
    for with_counts in (True, False):
        for shown in range(len(r.suspicious), -1, -1):
            best = "\n".join(_lines(m, r, shown, with_counts))
            if limit is None or len(best) <= limit:
                return best
    return best


def render_text(report: AuditReport, *, limit: int | None = None) -> str:
    """Plain text (terminal, logs): mentions broken, control characters removed."""
    return render(report, PLAIN, limit=limit)


def render_markdown(report: AuditReport, *, limit: int | None = DISCORD_LIMIT) -> str:
    """Discord Markdown: markup escaped, handles as masked links, within Discord's limit."""
    return render(report, MARKDOWN, limit=limit)


def render_html(report: AuditReport, *, limit: int | None = TELEGRAM_LIMIT) -> str:
    """Telegram HTML (parse_mode HTML): entities escaped, handles as ``<a href>`` links."""
    return render(report, HTML, limit=limit)


def chart_title(report: AuditReport) -> str:
    """The chart's title, so a chart seen alone still says whose it is and what it shows:
    ``@alice.example: Grade B, 12% (8–17%) fake`` or ``…: Grade B–F (inconclusive), …``."""
    who = f"{report.subject}: " if report.subject else ""
    return f"{who}{report.grade_label}, {share_text(report.fake_share)} fake"


def render_json(report: AuditReport, *, indent: int | None = None) -> str:
    """One JSON object; ``<``, ``>`` and ``&`` written as ``\\u`` escapes, safe to embed."""
    text = json.dumps(report.to_dict(), ensure_ascii=False, indent=indent, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
