"""What the chat adapters call from ``/watch``, ``/unwatch``, ``/watchlist`` and ``/alerts``.

Platform-neutral: the adapter passes the chat (``ChatRef``), who asks (``Caller``, with whether
the platform says they administer the chat: Telegram ``creator``/``administrator`` or an anonymous
admin, Discord Manage Server) and the command's arguments; it sends back the ``Reply`` rendered
with its chat's markup (``reply.render(MARKUP)``; ``reply.text()`` is plain text). Reading the
watchlist is open to anyone; changing it needs an admin, and anyone else gets a one-line
refusal with nothing changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.alerts.auditor import Auditor
from bot.alerts.model import ChatPrefs, ChatRef, Watch
from bot.alerts.render import MAX_TEXT, Line, Ours, Theirs, audience
from bot.alerts.schedule import next_slot, parse_interval
from bot.alerts.store import WatchStore
from bot.infra import durations
from bot.settings import Settings
from bot.sources.errors import BadHandle, SourceError
from bot.sources.handles import Handle, parse_configured
from scoring.audit.compare import Snapshot, parse_threshold
from scoring.audit.render import PLAIN, Markup

__all__ = ["REFUSAL", "WATCH_HELP_LINES", "Caller", "Reply", "WatchService"]

log = logging.getLogger("followaudit.alerts")

#: The watchlist part of /help, line by line (adapters add their own markup).
WATCH_HELP_LINES = (
    "Team alerts: /watch HANDLE [THRESHOLD] re-audits an account every few hours and posts an "
    "alert here when fakes arrive (THRESHOLD in percentage points, default 5).",
    "/unwatch HANDLE stops; /watchlist shows what this chat watches (anyone may read it).",
    "/alerts shows where and when alerts go; /alerts here, or /alerts followed by another chat, "
    "moves them; /alerts off pauses them (the watches stay), /alerts on resumes; "
    "/alerts every 12h sets how often the accounts are re-audited. Changing a watchlist needs "
    "a chat admin (Discord: Manage Server).",
)

REFUSAL = "Only admins of this chat (or people who manage the server) can change its watchlist."


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent the command; ``is_admin`` as the adapter found it on the platform."""

    user_id: str
    is_admin: bool


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply as data (``bot.alerts.render``: our words and the user's or a platform's text),
    which each chat renders with its markup; ``ok`` is False for refusals and errors."""

    lines: tuple[Line, ...]
    ok: bool = True

    @classmethod
    def plain(cls, text: str, *, ok: bool = True) -> Reply:
        """A reply of our own words only."""
        return cls((Line((Ours(text),)),), ok)

    def render(self, m: Markup) -> str:
        return "\n".join(line.render(m) for line in self.lines)[:MAX_TEXT]

    def text(self) -> str:
        """Plain text (the console, logs)."""
        return self.render(PLAIN)


def _fill(template: str, *values: str, limit: int = 200) -> list[Ours | Theirs]:
    """``template`` is our text with ``{}`` where ``values`` (user or platform text) go."""
    words = template.split("{}")
    parts: list[Ours | Theirs] = [Ours(words[0])]
    for value, after in zip(values, words[1:], strict=True):
        parts += [Theirs(value, limit), Ours(after)]
    return parts


def _reply(template: str, *values: str, ok: bool = True) -> Reply:
    return Reply((Line(tuple(_fill(template, *values))),), ok)


def _baseline_text(snap: Snapshot) -> str:
    if snap.share is None:
        return "no followers to audit yet"
    text = f"{snap.grade_text}, fake share {snap.share.text()} in {audience(snap)}"
    return text if snap.conclusive else text + "; no alert rests on an inconclusive audit"


class WatchService:
    """Watchlists per chat, backed by ``WatchStore``; runs the baseline audit when given an
    auditor (otherwise the next ``run-due`` takes it)."""

    def __init__(
        self,
        store: WatchStore,
        settings: Settings,
        *,
        auditor: Auditor | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.alerts = settings.alerts
        self.auditor = auditor
        self.clock = clock

    def _parse(self, text: str) -> Handle:
        return parse_configured(text, self.settings)

    def _admin_handle(self, caller: Caller, handle: str) -> Handle | Reply:
        """The handle an admin's ``/watch`` or ``/unwatch`` names, or the refusal to send."""
        if not caller.is_admin:
            return Reply.plain(REFUSAL, ok=False)
        try:
            return self._parse(handle)
        except BadHandle as exc:
            return _reply("{}", exc.message, ok=False)

    # -- changing -----------------------------------------------------------------------------
    async def watch(
        self, chat: ChatRef, caller: Caller, handle: str, threshold: str | None = None
    ) -> Reply:
        """``/watch <handle> [threshold]``: add (or re-threshold, or resume) a watch and take its
        baseline audit; the reply names the normalised handle."""
        parsed = self._admin_handle(caller, handle)
        if isinstance(parsed, Reply):
            return parsed
        try:
            points = parse_threshold(threshold) if threshold else self.alerts.default_threshold
        except ValueError as exc:
            return _reply("{}", str(exc), ok=False)
        now = self.clock()
        watch = Watch(parsed.platform, parsed.handle, chat, points, now, caller.user_id)
        existing = await self.store.get(watch.id)
        if existing is not None:
            watch = existing.with_(threshold=points, paused=None, failures=0)
        result = await self.store.add(
            watch, due=now, max_chat=self.alerts.max_per_chat,
            max_server=self.alerts.max_per_server,
        )  # fmt: skip
        if result == "chat_full":
            return _reply(f"This chat already watches {self.alerts.max_per_chat} accounts, the "
                          "limit; /unwatch one first.", ok=False)  # fmt: skip
        if result == "server_full":
            return _reply(f"This server already watches {self.alerts.max_per_server} accounts, "
                          "the limit; /unwatch one first.", ok=False)  # fmt: skip
        label = watch.label
        prefs = await self.store.prefs(chat)
        interval = self._interval(prefs)
        every = durations.every(interval)
        if existing is not None:
            if existing.paused:
                await self.store.reschedule(watch.id, now)
                return _reply("Resumed watching {} (threshold " f"{points:g} points); "
                              f"re-audited every {every}.", label)  # fmt: skip
            return _reply("Already watching {} here; threshold now " f"{points:g} points.",
                          label)  # fmt: skip
        dest = await self.store.destination(chat)
        where = "this chat" if dest == chat else "the chat set with /alerts"
        tail = f"Re-audited every {every}; alerts go to {where}."
        if prefs.off:
            tail += " Alerts are paused here (/alerts on resumes them)."
        if self.auditor is None:
            return _reply("Watching {} " f"(alert threshold {points:g} points). The baseline "
                          f"audit runs shortly. {tail}", label)  # fmt: skip
        try:
            audit = await self.auditor.audit(watch.platform, watch.handle)
        except SourceError as exc:
            if exc.retryable:
                return _reply("Watching {} " f"(alert threshold {points:g} points); the "
                              "platform is busy, so the baseline audit runs shortly. "
                              f"{tail}", label)  # fmt: skip
            await self.store.remove(watch)
            return _reply("Cannot watch {}: {}", label, exc.message, ok=False)
        snapshot = audit.snapshot(None, now)
        watch = watch.with_(
            last_audit_at=now, baseline_audit=snapshot.audit_id, last_audit=snapshot.audit_id
        )
        await self.store.record(watch, snapshot, keep=self.alerts.history)
        await self.store.reschedule(
            watch.id, next_slot(watch.id, now, interval, self.alerts.spread)
        )
        return _reply("Watching {} " f"(alert threshold {points:g} points). Baseline: "
                      f"{_baseline_text(snapshot)}. {tail}", label)  # fmt: skip

    async def unwatch(self, chat: ChatRef, caller: Caller, handle: str) -> Reply:
        """``/unwatch <handle>``."""
        parsed = self._admin_handle(caller, handle)
        if isinstance(parsed, Reply):
            return parsed
        probe = Watch(parsed.platform, parsed.handle, chat, 0.0, 0.0)
        watch = await self.store.get(probe.id)
        if watch is None:
            return _reply("{} is not watched in this chat.", probe.label, ok=False)
        await self.store.remove(watch)
        return _reply("Stopped watching {}.", watch.label)

    async def set_alerts(self, chat: ChatRef, caller: Caller, to: ChatRef | None) -> Reply:
        """``/alerts <chat>``: alerts of this chat's watches go to ``to`` (``None``: here)."""
        if not caller.is_admin:
            return Reply.plain(REFUSAL, ok=False)
        if to is not None and to.adapter != chat.adapter:
            return _reply("Alerts can only go to a chat on the same platform.", ok=False)
        await self.store.set_destination(chat, to)
        prefs = await self.store.prefs(chat)
        if prefs.off:  # naming a destination (or here) resumes paused alerts
            await self.store.set_prefs(chat, ChatPrefs(False, prefs.interval_seconds))
        return await self.show_alerts(chat)

    def _interval(self, prefs: ChatPrefs) -> float:
        return prefs.interval_seconds or self.alerts.interval_seconds

    async def alerts_option(self, chat: ChatRef, caller: Caller, args: list[str]) -> Reply | None:
        """``/alerts off``, ``/alerts on`` and ``/alerts every 12h``; ``None`` when ``args`` are
        none of these (a destination, which the adapter checks)."""
        word = args[0].lower() if args else ""
        if word in ("off", "on") and len(args) == 1:
            return await self.pause_alerts(chat, caller, word == "off")
        if word == "every":
            return await self.set_interval(chat, caller, " ".join(args[1:3]))
        return None

    async def pause_alerts(self, chat: ChatRef, caller: Caller, off: bool) -> Reply:
        """``/alerts off`` keeps the watches but stops re-auditing and posting them until
        ``/alerts on`` (or ``/alerts here``); the first re-audit after that compares with the
        last audit before the pause, so nothing that landed meanwhile is missed."""
        if not caller.is_admin:
            return Reply.plain(REFUSAL, ok=False)
        prefs = await self.store.prefs(chat)
        await self.store.set_prefs(chat, ChatPrefs(off, prefs.interval_seconds))
        return await self.show_alerts(chat)

    async def set_interval(self, chat: ChatRef, caller: Caller, text: str) -> Reply:
        """``/alerts every 12h``: re-audit this chat's watches this often (within the configured
        bounds); each watch moves to its slot on the new interval after its last audit."""
        if not caller.is_admin:
            return Reply.plain(REFUSAL, ok=False)
        low, high = self.alerts.min_interval_seconds, self.alerts.max_interval_seconds
        try:
            seconds = parse_interval(text)
        except ValueError as exc:
            return _reply("{}", str(exc), ok=False)
        if not low <= seconds <= high:
            between = f"{durations.every(low)} and {durations.every(high)}"
            return _reply(f"The interval must be between {between}.", ok=False)
        prefs = await self.store.prefs(chat)
        default = seconds == self.alerts.interval_seconds
        await self.store.set_prefs(chat, ChatPrefs(prefs.off, None if default else seconds))
        now = self.clock()
        for w in await self.store.in_chat(chat):
            if w.paused:
                continue
            after = w.last_audit_at if w.last_audit_at is not None else now - seconds
            await self.store.reschedule(w.id, next_slot(w.id, after, seconds, self.alerts.spread))
        return await self.show_alerts(chat)

    # -- reading ------------------------------------------------------------------------------
    async def show_alerts(self, chat: ChatRef) -> Reply:
        """``/alerts`` alone: where and how often alerts go, and whether they are paused."""
        dest = await self.store.destination(chat)
        prefs = await self.store.prefs(chat)
        every = durations.every(self._interval(prefs))
        cool = durations.every(self.alerts.cooldown_seconds)
        where = _chat_name(chat, dest)
        if prefs.off:
            head = [Ours("Alerts for this chat's watchlist are paused (they would go to "), *where,
                    Ours("); /alerts on resumes them.")]  # fmt: skip
        else:
            head = [Ours("Alerts for this chat's watchlist go to "), *where, Ours(".")]
        tail = Ours(
            f" Each account is re-audited every {every}; after an alert it waits at least {cool}; "
            f"{self.alerts.digest_min} or more alerts at once come as one digest."
        )
        return Reply((Line((*head, tail)),))

    async def watchlist(self, chat: ChatRef) -> Reply:
        """``/watchlist``: anyone in the chat may read it."""
        watches = await self.store.in_chat(chat)
        if not watches:
            return _reply("No accounts are watched in this chat. Admins can add one with "
                          "/watch <handle>.")  # fmt: skip
        lines = [Reply.plain(f"Watched in this chat ({len(watches)} of "
                             f"{self.alerts.max_per_chat}):").lines[0]]  # fmt: skip
        for w in watches:
            history = await self.store.history(w.id, 1)
            state: list[Ours | Theirs] = (
                [Ours("paused: "), Theirs(w.paused, 120)]
                if w.paused
                else [Ours(_baseline_text(history[-1]) if history else "baseline pending")]
            )
            head = _fill(f"• {{}} (threshold {w.threshold:g} points): ", w.label, limit=120)
            lines.append(Line((*head, *state)))
        return Reply(tuple(lines))


def _chat_name(chat: ChatRef, dest: ChatRef) -> list[Ours | Theirs]:
    """Where alerts go, as the asker's chat shows it (alerts stay on one platform)."""
    if dest == chat:
        return [Ours("this chat")]
    if dest.adapter == "discord":
        return [Ours(f"<#{dest.chat_id}>")]  # Discord shows a channel mention as its name
    return [Ours(f"{dest.adapter} chat "), Theirs(dest.chat_id, 40)]
