"""Discord renderings of reports, progress and button answers: plain dicts and strings (pure).

Every platform-controlled string (handles, display names, reasons) goes through
``escape_markdown``; accounts are masked links to their profiles; every embed is passed through
``fit_embed`` so that Discord's limits are met by trimming, never by an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.chat.actions import subject_of
from bot.discord.format import CONTENT_LIMIT, escape_markdown, fit_embed, masked_link, truncate
from bot.pipeline.messages import Progress, UserError
from bot.sources.handles import ACCEPTED_FORMS
from scoring.audit.grade import grade_label
from scoring.audit.profiles import display_handle, profile_url

__all__ = [
    "CHART_NAME",
    "GRADE_COLOURS",
    "HELP",
    "breakdown_embed",
    "error_text",
    "handle_label",
    "more_text",
    "progress_text",
    "report_embed",
]

CHART_NAME = "chart.png"
GRADE_COLOURS = {
    "A": 0x2ECC71,
    "B": 0x7DCEA0,
    "C": 0xF1C40F,
    "D": 0xE67E22,
    "F": 0xE74C3C,
}
NO_GRADE_COLOUR = 0x95A5A6
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


def _pct(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{round(100 * float(value))}%"
    return None


def _share(block: Mapping[str, Any] | None, est: str = "estimate") -> str:
    if not isinstance(block, Mapping):
        return "unknown"
    centre = _pct(block.get(est))
    if centre is None:
        return "unknown"
    low, high = _pct(block.get("low")), _pct(block.get("high"))
    return f"{centre} ({low[:-1]}–{high})" if low and high else centre


def _sample_text(report: Mapping[str, Any]) -> str:
    sample = report.get("sample")
    sample = sample if isinstance(sample, Mapping) else {}
    size = int(sample.get("size") or report.get("sample_size") or 0)
    total = sample.get("total", sample.get("of"))
    order = str(sample.get("order") or "newest")
    if size == 0:
        return "no followers"
    if order in _ORDER_WORDS:
        what = _ORDER_WORDS[order]
        if isinstance(total, int) and total > size:
            text = f"the {size:,} {what} of {total:,} followers"
        elif isinstance(total, int):
            text = f"all {size:,} followers"
        else:
            text = f"the {size:,} {what} followers"
        return text + " (newest first)"
    return f"{size:,} followers, in the order of the uploaded file"


def _account_line(row: Mapping[str, Any]) -> str:
    platform = str(row.get("platform") or "")
    handle = row.get("handle")
    handle = str(handle) if handle else None
    shown = display_handle(platform, str(row.get("id") or "?"), handle)
    url = profile_url(platform, handle) if handle else None
    link = masked_link(shown[:80], url) if url else escape_markdown(shown[:80])
    name = row.get("display_name")
    if isinstance(name, str) and name.strip():
        link += f" ({escape_markdown(' '.join(name.split())[:60])})"
    reasons = row.get("reasons")
    why = (
        "; ".join(escape_markdown(str(r)[:100]) for r in reasons[:3])
        if isinstance(reasons, list)
        else ""
    )
    pct = _pct(row.get("fake_probability")) or "?"
    return f"• {link} {pct}" + (f": {why}" if why else "")


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


def _burst_line(burst: Mapping[str, Any]) -> str:
    start, end = int(burst.get("start") or 0), int(burst.get("end") or 0)
    share = _share(
        {
            "estimate": burst.get("fake_share"),
            "low": burst.get("fake_share_low"),
            "high": burst.get("fake_share_high"),
        }
    )
    text = f"• followers {start + 1:,}–{end + 1:,} ({end - start + 1:,}): {share} fake"
    made_from, made_to = burst.get("created_from"), burst.get("created_to")
    if isinstance(made_from, str) and isinstance(made_to, str):
        text += f", created {made_from[:10]} to {made_to[:10]}"
    return escape_markdown(text)


def report_embed(
    report: Mapping[str, Any], *, chart: bool, cached_age: str | None = None
) -> dict[str, Any]:
    """The report as one embed dict: grade as title and colour, shares, sample, bursts,
    suspicious accounts linked to their profiles, model version in the footer."""
    platform, handle, name = subject_of(report)
    label = handle_label(platform, handle) if handle else "this audience"
    grade = report.get("grade")
    title = f"{grade_label(grade, report.get('grade_range'))} · {label}"
    verdict = escape_markdown(str(report.get("verdict") or ""))
    description = verdict
    if isinstance(name, str) and name.strip():
        description = f"{escape_markdown(' '.join(name.split())[:80])}\n{verdict}"
    if cached_age:
        description += f"\n*Cached result from {escape_markdown(cached_age)} ago.*"
    fields: list[dict[str, Any]] = [
        {"name": "Fake followers", "value": _share(report.get("fake_share")), "inline": True}
    ]
    inactive = report.get("inactive")
    if isinstance(inactive, Mapping):
        value = _share(inactive, "share")
        known, days = inactive.get("known"), inactive.get("days")
        if isinstance(known, int) and isinstance(days, int):
            value += f" of {known:,} with known activity ({days}+ days silent)"
        fields.append({"name": "Inactive", "value": value, "inline": True})
    fields.append({"name": "Sample", "value": _sample_text(report), "inline": False})
    bursts = [b for b in report.get("bursts") or [] if isinstance(b, Mapping)]
    fields.append(
        {
            "name": f"Bursts ({len(bursts)})" if bursts else "Bursts",
            "value": _lines_within([_burst_line(b) for b in bursts[:_SHOWN_BURSTS]], 1024)
            if bursts
            else "none found",
            "inline": False,
        }
    )
    suspicious = [s for s in report.get("suspicious") or [] if isinstance(s, Mapping)]
    if suspicious:
        flagged = int(report.get("flagged") or len(suspicious))
        shown = suspicious[:_SHOWN_ACCOUNTS]
        fields.append(
            {
                "name": f"Suspicious accounts ({len(shown)} of {flagged:,} flagged)",
                "value": _lines_within([_account_line(s) for s in shown], 1024),
                "inline": False,
            }
        )
    url = profile_url(platform, handle) if handle and platform != "upload" else None
    share = report.get("fake_share") or {}
    method, view = share.get("method"), share.get("view")
    footer = f"Model {report.get('model_version') or '?'}"
    if method:
        footer += f" · estimate by {method}"
    if view and view != "full":
        footer += f" ({view} view)"
    embed: dict[str, Any] = {
        "type": "rich",
        "title": escape_markdown(title),
        "description": description,
        "color": GRADE_COLOURS.get(str(grade), NO_GRADE_COLOUR),
        "fields": fields,
        "footer": {"text": footer},
    }
    if url:
        embed["url"] = url
    if chart:
        embed["image"] = {"url": f"attachment://{CHART_NAME}"}
    return fit_embed(embed)


def more_text(
    label: str, rows: Sequence[Mapping[str, Any]], offset: int, total: int
) -> tuple[str, int]:
    """Suspicious accounts ``rows`` (from ``offset`` of ``total``) as one message within 2,000
    characters, and how many of them it shows (whole lines; the rest start the next page)."""
    if not rows:
        return f"No more suspicious accounts in the audit of {escape_markdown(label)}.", 0
    lines = [_account_line(r) for r in rows]
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
