"""Alert texts for each chat: plain (console), Telegram HTML and Discord Markdown.

Only the watched handle and the burst's account names come from a platform; both go through the
audit's escapers (control characters removed, mentions broken, markup escaped, length bounded).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from bot.alerts.model import Watch
from bot.infra import durations
from scoring.audit.compare import Change, Snapshot
from scoring.audit.escape import escape_html, escape_markdown, escape_plain

__all__ = ["FORMATS", "AlertMessage", "alert_message", "digest_message", "notice_message"]

FORMATS: Final = ("plain", "html", "markdown")
#: Burst accounts named in one alert.
NAMED: Final = 10
#: Telegram's message limit is 4096 characters and Discord's 2000: alerts stay under both.
MAX_TEXT: Final = 1900

_Esc = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One message for one chat: its text in every format, and an optional chart (PNG)."""

    texts: dict[str, str]
    chart: bytes | None = None
    #: Watch ids this message reports on (a digest has several).
    watches: tuple[str, ...] = field(default=())
    kind: str = "alert"  # alert | digest | notice

    def text(self, fmt: str) -> str:
        return self.texts.get(fmt) or self.texts["plain"]


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _bold(fmt: str, text: str) -> str:
    return {"html": f"<b>{text}</b>", "markdown": f"**{text}**"}.get(fmt, text)


def _escaper(fmt: str) -> _Esc:
    return {"html": escape_html, "markdown": escape_markdown}.get(fmt, escape_plain)


def _label(watch: Watch, esc: _Esc) -> str:
    return esc(watch.label, 120)


def _now_line(snap: Snapshot) -> str:
    if snap.share is None:
        return f"Now: {snap.grade_text}; no followers to audit."
    return f"Now: {snap.grade_text}; {snap.share.text()} of {audience(snap)} look fake."


def audience(snap: Snapshot) -> str:
    """Which followers an audit read: ``all 700 followers`` or ``the 1,000 most recent of
    48,210 followers``."""
    total = snap.followers_total
    if total is not None and total <= snap.sample_size:
        return f"all {snap.sample_size:,} followers"
    of = f" of {total:,}" if total is not None else ""
    return f"the {snap.sample_size:,} most recent{of} followers"


def _render(fmt: str, watch: Watch, change: Change, now: float) -> str:
    esc = _escaper(fmt)
    lines = [_bold(fmt, f"Follower alert: {_label(watch, esc)}")]
    if change.since is not None:
        lines.append(
            f"Since the audit of {_when(change.since)} ({durations.ago(now - change.since)} ago):"
        )
    # trigger details are our own words and numbers (no platform text): kept readable
    ours = html.escape if fmt == "html" else str
    lines += [f"• {ours(t.detail)}" for t in change.triggers]
    for burst in change.new_bursts:
        named = [esc("@" + n.removeprefix("@"), 60) for n in burst.evidence[:NAMED]]
        more = burst.size - len(named)
        tail = f" and {more:,} more" if more > 0 else ""
        lines.append(f"Burst of {burst.size:,}: " + ", ".join(named) + tail)
    lines.append(_now_line(change.current))
    return _fit(lines)


def _fit(lines: list[str]) -> str:
    text = "\n".join(lines)
    while len(text) > MAX_TEXT and len(lines) > 2:
        lines = lines[:-2] + lines[-1:]
        text = "\n".join(lines)
    return text[:MAX_TEXT]


def alert_message(
    watch: Watch, change: Change, now: float, chart: bytes | None = None
) -> AlertMessage:
    """One alert for every trigger of one re-audit of one account."""
    texts = {fmt: _render(fmt, watch, change, now) for fmt in FORMATS}
    return AlertMessage(texts, chart, (watch.id,), "alert")


def digest_message(items: Sequence[tuple[Watch, Change]], now: float) -> AlertMessage:
    """Many accounts fired at once: one message, a line per account."""
    texts = {}
    for fmt in FORMATS:
        esc = _escaper(fmt)
        lines = [_bold(fmt, f"Follower alerts: {len(items)} watched accounts changed")]
        for watch, change in items:
            ours = html.escape if fmt == "html" else str
            what = "; ".join(ours(t.detail) for t in change.triggers)
            lines.append(f"• {_label(watch, esc)}: {what}")
        texts[fmt] = _fit(lines)
    return AlertMessage(texts, None, tuple(w.id for w, _ in items), "digest")


def notice_message(watch: Watch, text: str, detail: str = "") -> AlertMessage:
    """A one-off notice about a watch (paused, ...): ``text`` is ours, with ``{}`` where
    ``detail`` (which may quote a platform, so it is escaped) goes."""
    texts = {}
    for fmt in FORMATS:
        esc = _escaper(fmt)
        texts[fmt] = f"{_label(watch, esc)}: " + text.replace("{}", esc(detail, 300))
    return AlertMessage(texts, None, (watch.id,), "notice")
