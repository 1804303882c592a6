"""What an alert says, as data each chat renders at its edge with its one markup
(``scoring.audit.render.Markup``: Telegram HTML, Discord Markdown, plain text for the console).

A message is lines of parts: our own words (``Ours``) and platform text (``Theirs``: the watched
handle, the burst's account names, an error a platform gave), which the chat's escaper makes safe
(control characters removed, mentions broken, markup escaped, length bounded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from bot.alerts.model import Watch
from bot.infra import durations
from scoring.audit.compare import Change, Snapshot
from scoring.audit.render import Markup

__all__ = [
    "AlertMessage",
    "Line",
    "Ours",
    "Theirs",
    "alert_message",
    "digest_message",
    "notice_message",
]

#: Burst accounts named in one alert.
NAMED: Final = 10
#: Telegram's message limit is 4096 characters and Discord's 2000: alerts stay under both.
MAX_TEXT: Final = 1900


@dataclass(frozen=True, slots=True)
class Ours:
    """Our own words: written as they are (HTML-encoded in HTML)."""

    text: str

    def render(self, m: Markup) -> str:
        return m.ours(self.text)


@dataclass(frozen=True, slots=True)
class Theirs:
    """Text from a platform: escaped by the chat's escaper, at most ``limit`` characters."""

    text: str
    limit: int

    def render(self, m: Markup) -> str:
        return m.esc(self.text, self.limit)


@dataclass(frozen=True, slots=True)
class Line:
    parts: tuple[Ours | Theirs, ...]
    bold: bool = False

    def render(self, m: Markup) -> str:
        text = "".join(p.render(m) for p in self.parts)
        return m.bold(text) if self.bold else text


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One message for one chat: its lines, and an optional chart (PNG)."""

    lines: tuple[Line, ...]
    chart: bytes | None = None
    #: Watch ids this message reports on (a digest has several).
    watches: tuple[str, ...] = field(default=())
    kind: str = "alert"  # alert | digest | notice

    def render(self, m: Markup) -> str:
        """The text in the chat's markup, within ``MAX_TEXT``: lines before the last are
        dropped from the end until it fits."""
        lines = [line.render(m) for line in self.lines]
        text = "\n".join(lines)
        while len(text) > MAX_TEXT and len(lines) > 2:
            lines = lines[:-2] + lines[-1:]
            text = "\n".join(lines)
        return text[:MAX_TEXT]


def _line(*parts: Ours | Theirs, bold: bool = False) -> Line:
    return Line(parts, bold)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _label(watch: Watch) -> Theirs:
    return Theirs(watch.label, 120)


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


def alert_message(
    watch: Watch, change: Change, now: float, chart: bytes | None = None
) -> AlertMessage:
    """One alert for every trigger of one re-audit of one account."""
    lines = [_line(Ours("Follower alert: "), _label(watch), bold=True)]
    if change.since is not None:
        ago = durations.ago(now - change.since)
        lines.append(_line(Ours(f"Since the audit of {_when(change.since)} ({ago} ago):")))
    lines += [_line(Ours(f"• {t.detail}")) for t in change.triggers]
    for burst in change.new_bursts:
        named: list[Ours | Theirs] = []
        for n, name in enumerate(burst.evidence[:NAMED]):
            named += [Ours(", ")] if n else []
            named.append(Theirs("@" + name.removeprefix("@"), 60))
        more = burst.size - len(burst.evidence[:NAMED])
        tail = f" and {more:,} more" if more > 0 else ""
        lines.append(_line(Ours(f"Burst of {burst.size:,}: "), *named, Ours(tail)))
    lines.append(_line(Ours(_now_line(change.current))))
    return AlertMessage(tuple(lines), chart, (watch.id,), "alert")


def digest_message(items: Sequence[tuple[Watch, Change]], now: float) -> AlertMessage:
    """Many accounts fired at once: one message, a line per account."""
    lines = [_line(Ours(f"Follower alerts: {len(items)} watched accounts changed"), bold=True)]
    for watch, change in items:
        what = "; ".join(t.detail for t in change.triggers)
        lines.append(_line(Ours("• "), _label(watch), Ours(f": {what}")))
    return AlertMessage(tuple(lines), None, tuple(w.id for w, _ in items), "digest")


def notice_message(watch: Watch, text: str, detail: str = "") -> AlertMessage:
    """A one-off notice about a watch (paused, ...): ``text`` is ours, with ``{}`` where
    ``detail`` (which may quote a platform, so it is escaped) goes."""
    before, slot, after = text.partition("{}")
    parts: list[Ours | Theirs] = [_label(watch), Ours(f": {before}")]
    if slot:
        parts += [Theirs(detail, 300), Ours(after)]
    return AlertMessage((Line(tuple(parts)),), None, (watch.id,), "notice")
