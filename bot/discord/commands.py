"""The application commands: ``/audit`` (with autocomplete and an export option), ``/help`` and
the "Audit export" message command. Thin: parse, hand to the bot, which calls the service.

No ``from __future__ import annotations`` here: discord.py reads these annotations at runtime to
build the command options.
"""

import dataclasses
import logging
from typing import Any

import discord
from discord import app_commands

from bot.chat.commands import AuditCommand, CommandError, parse_audit_args
from bot.discord.format import escape_markdown, truncate
from bot.discord.render import HELP
from bot.discord.surface import NO_PINGS

__all__ = ["EXAMPLES", "build_commands", "build_watch_commands", "handle_choices"]

log = logging.getLogger("followaudit.discord")

#: Shown by autocomplete before anything is typed: the accepted handle forms.
EXAMPLES = (
    ("Bluesky: bsky:alice.bsky.social or @alice.bsky.social", "bsky:alice.bsky.social"),
    ("Bluesky link: https://bsky.app/profile/alice.bsky.social", "bsky:alice.bsky.social"),
    ("Mastodon: @user@example.social", "mastodon:user@example.social"),
    ("X: x:jack or https://x.com/jack", "x:jack"),
)
_CONTEXTS = app_commands.AppCommandContext(guild=True, dm_channel=True)
_PLATFORM_NAMES = {"bluesky": "Bluesky", "mastodon": "Mastodon", "x": "X"}


def _label(command: AuditCommand) -> str:
    """``bsky:alice.bsky.social``: the normal form, accepted back by the parser."""
    prefix = "bsky" if command.platform == "bluesky" else command.platform
    return f"{prefix}:{command.handle}"


def handle_choices(
    current: str, recent: list[str], settings: Any
) -> list[app_commands.Choice[str]]:
    """What to suggest for ``current``: its normalised form, matching recent audits in this
    server (or DM), and the accepted forms while nothing is typed."""
    choices: list[app_commands.Choice[str]] = []
    typed = current.strip()
    if typed:
        try:
            handle = parse_audit_args([typed], settings)
        except CommandError:
            choices.append(
                app_commands.Choice(
                    name="Not a handle yet: try bsky:name, @user@host, x:name", value=typed[:100]
                )
            )
        else:
            label = _label(handle)
            name = f"{label} ({_PLATFORM_NAMES.get(handle.platform, handle.platform)})"
            choices.append(app_commands.Choice(name=name[:100], value=label[:100]))
    lowered = typed.lower()
    for label in recent:
        if lowered in label.lower() and all(c.value != label for c in choices):
            choices.append(app_commands.Choice(name=f"Recent: {label}"[:100], value=label[:100]))
    if not typed:
        choices.extend(app_commands.Choice(name=n, value=v) for n, v in EXAMPLES)
    return choices[:25]


def build_commands(
    bot: Any,
) -> list[app_commands.Command[Any, ..., Any] | app_commands.ContextMenu]:
    """The commands of ``bot`` (an ``AuditBot``), closed over it: no global state."""

    @app_commands.command(name="audit", description="Audit an account's followers for fakes")
    @app_commands.allowed_contexts(guilds=True, dms=True)
    @app_commands.describe(
        handle="bsky:alice.bsky.social, @user@example.social, x:jack or a profile link",
        sample="How many of the newest followers to read",
        fresh="Ignore a recent cached result",
        export="A follower export (CSV, JSON or JSON Lines) to audit instead",
    )
    async def audit(
        interaction: discord.Interaction,
        handle: str | None = None,
        sample: int | None = None,
        fresh: bool = False,
        export: discord.Attachment | None = None,
    ) -> None:
        if export is not None:
            await bot.audit_export(interaction, export, sample)
            return
        try:
            parsed = parse_audit_args([handle or ""], bot.settings)
        except CommandError as exc:
            await interaction.response.send_message(
                truncate(escape_markdown(str(exc)), 2000), ephemeral=True,
                allowed_mentions=NO_PINGS,
            )  # fmt: skip
            return
        if sample is not None:
            sample = max(1, min(sample, bot.settings.sample.max))
        command = dataclasses.replace(parsed, sample=sample or parsed.sample, fresh=fresh)
        await bot.audit_handle(interaction, command)

    @audit.autocomplete("handle")
    async def complete_handle(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            recent = await bot.state.recent(bot.scope_of(interaction))
        except Exception:  # suggestions are best effort: Redis trouble shows the forms only
            log.warning("recent audits unavailable for autocomplete", exc_info=True)
            recent = []
        return handle_choices(current, recent, bot.settings)

    @app_commands.command(name="help", description="How to audit: handle forms and platforms")
    @app_commands.allowed_contexts(guilds=True, dms=True)
    async def help_command(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(HELP, ephemeral=True, allowed_mentions=NO_PINGS)

    async def audit_message(interaction: discord.Interaction, message: discord.Message) -> None:
        exports = [a for a in message.attachments if a.filename.lower().endswith(
            (".csv", ".json", ".jsonl", ".ndjson", ".txt"))]  # fmt: skip
        if not exports:
            await interaction.response.send_message(
                "That message has no follower export attached (CSV, JSON or JSON Lines).",
                ephemeral=True, allowed_mentions=NO_PINGS,
            )  # fmt: skip
            return
        await bot.audit_export(interaction, exports[0], None)

    export_menu = app_commands.ContextMenu(
        name="Audit export", callback=audit_message, allowed_contexts=_CONTEXTS
    )
    return [audit, help_command, export_menu, *build_watch_commands(bot)]


def build_watch_commands(bot: Any) -> list[app_commands.Command[Any, ..., Any]]:
    """``/watch``, ``/unwatch``, ``/watchlist`` and ``/alerts`` (team alerts, issue 8): each
    defers at once and answers with the watch service's reply (``bot.watch_command``)."""

    @app_commands.command(name="watch", description="Re-audit an account and alert here when "
                          "fakes arrive (Manage Server)")  # fmt: skip
    @app_commands.allowed_contexts(guilds=True, dms=True)
    @app_commands.describe(
        handle="bsky:alice.bsky.social, @user@example.social, x:jack or a profile link",
        threshold="Alert when the fake share rises this many points past the last audit "
        "(default 5)",
    )
    async def watch(
        interaction: discord.Interaction, handle: str, threshold: str | None = None
    ) -> None:
        await bot.watch_command(
            interaction, lambda svc, chat, caller: svc.watch(chat, caller, handle, threshold)
        )

    @app_commands.command(name="unwatch", description="Stop watching an account (Manage Server)")
    @app_commands.allowed_contexts(guilds=True, dms=True)
    @app_commands.describe(handle="The watched account, as /watchlist shows it")
    async def unwatch(interaction: discord.Interaction, handle: str) -> None:
        await bot.watch_command(
            interaction, lambda svc, chat, caller: svc.unwatch(chat, caller, handle)
        )

    @app_commands.command(name="watchlist", description="The accounts this channel watches")
    @app_commands.allowed_contexts(guilds=True, dms=True)
    async def watchlist(interaction: discord.Interaction) -> None:
        await bot.watch_command(interaction, lambda svc, chat, caller: svc.watchlist(chat))

    @app_commands.command(name="alerts", description="Where and when this channel's alerts go; "
                          "change them (Manage Server)")  # fmt: skip
    @app_commands.allowed_contexts(guilds=True, dms=True)
    @app_commands.describe(
        channel="#channel (or its id) in this server, here; or off to pause, on to resume",
        every="Re-audit the watched accounts this often, e.g. 12h, 90m or 1d",
    )
    async def alerts(
        interaction: discord.Interaction, channel: str | None = None, every: str | None = None
    ) -> None:
        await bot.alerts_command(interaction, channel, every)

    return [watch, unwatch, watchlist, alerts]
