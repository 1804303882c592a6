"""What the chat adapters call from ``/watch``, ``/unwatch``, ``/watchlist`` and ``/alerts``.

Platform-neutral: the adapter passes the chat (``ChatRef``), who asks (``Caller``, with whether
the platform says they administer the chat: Telegram ``creator``/``administrator`` or an anonymous
admin, Discord Manage Server) and the command's arguments; it sends back ``Reply.text(fmt)`` in
its format (``plain``, ``html`` or ``markdown``). Reading the watchlist is open to anyone;
changing it needs an admin, and anyone else gets a one-line refusal with nothing changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.alerts.auditor import Auditor
from bot.alerts.model import ChatPrefs, ChatRef, Watch
from bot.alerts.render import audience
from bot.alerts.schedule import next_slot, parse_interval
from bot.alerts.store import WatchStore
from bot.infra import durations
from bot.settings import Settings
from bot.sources.errors import BadHandle, SourceError
from bot.sources.handles import Handle, parse_handle
from scoring.audit.compare import Snapshot, parse_threshold
from scoring.audit.escape import escape_html, escape_markdown, escape_plain

__all__ = ["REFUSAL", "WATCH_HELP_LINES", "Caller", "Reply", "WatchService"]

#: The formats a reply is written in: plain (console), HTML (Telegram), Markdown (Discord).
FORMATS = ("plain", "html", "markdown")

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
    """A reply in every format; ``ok`` is False for refusals and errors."""

    texts: dict[str, str]
    ok: bool = True

    def text(self, fmt: str = "plain") -> str:
        return self.texts.get(fmt) or self.texts["plain"]


def _esc(fmt: str) -> Callable[[str, int], str]:
    return {"html": escape_html, "markdown": escape_markdown}.get(fmt, escape_plain)


def _reply(template: str, *values: str, ok: bool = True) -> Reply:
    """``template`` is our text with ``{}`` where ``values`` (user or platform text) go,
    escaped for each format."""
    texts = {}
    for fmt in FORMATS:
        esc = _esc(fmt)
        texts[fmt] = template.format(*(esc(v, 200) for v in values))
    return Reply(texts, ok)


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
        instance = urlsplit(self.settings.mastodon.base_url or "").hostname
        return parse_handle(text, self.settings.default_platform, mastodon_instance=instance)

    def _admin_handle(self, caller: Caller, handle: str) -> Handle | Reply:
        """The handle an admin's ``/watch`` or ``/unwatch`` names, or the refusal to send."""
        if not caller.is_admin:
            return Reply({f: REFUSAL for f in FORMATS}, ok=False)
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
            return Reply({f: REFUSAL for f in FORMATS}, ok=False)
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
            return Reply({f: REFUSAL for f in FORMATS}, ok=False)
        prefs = await self.store.prefs(chat)
        await self.store.set_prefs(chat, ChatPrefs(off, prefs.interval_seconds))
        return await self.show_alerts(chat)

    async def set_interval(self, chat: ChatRef, caller: Caller, text: str) -> Reply:
        """``/alerts every 12h``: re-audit this chat's watches this often (within the configured
        bounds); each watch moves to its slot on the new interval after its last audit."""
        if not caller.is_admin:
            return Reply({f: REFUSAL for f in FORMATS}, ok=False)
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
        texts = {}
        for fmt in FORMATS:
            where = _chat_name(fmt, chat, dest)
            if prefs.off:
                head = (f"Alerts for this chat's watchlist are paused (they would go to {where}); "
                        "/alerts on resumes them.")  # fmt: skip
            else:
                head = f"Alerts for this chat's watchlist go to {where}."
            texts[fmt] = (
                f"{head} Each account is re-audited every {every}; after an alert it waits at "
                f"least {cool}; {self.alerts.digest_min} or more alerts at once come as one "
                "digest."
            )
        return Reply(texts)

    async def watchlist(self, chat: ChatRef) -> Reply:
        """``/watchlist``: anyone in the chat may read it."""
        watches = await self.store.in_chat(chat)
        if not watches:
            return _reply("No accounts are watched in this chat. Admins can add one with "
                          "/watch <handle>.")  # fmt: skip
        texts = {}
        for fmt in FORMATS:
            esc = _esc(fmt)
            lines = [f"Watched in this chat ({len(watches)} of {self.alerts.max_per_chat}):"]
            for w in watches:
                history = await self.store.history(w.id, 1)
                state = (
                    "paused: " + esc(w.paused, 120)
                    if w.paused
                    else (_baseline_text(history[-1]) if history else "baseline pending")
                )
                lines.append(f"• {esc(w.label, 120)} (threshold {w.threshold:g} points): {state}")
            texts[fmt] = "\n".join(lines)[:1900]
        return Reply(texts)


def _chat_name(fmt: str, chat: ChatRef, dest: ChatRef) -> str:
    if dest == chat:
        return "this chat"
    if fmt == "markdown" and dest.adapter == "discord":
        return f"<#{dest.chat_id}>"
    return f"{dest.adapter} chat {_esc(fmt)(dest.chat_id, 40)}"
