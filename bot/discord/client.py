"""The Discord bot: a discord.py ``Client`` with an app-commands tree, built with its clients
passed in, commands synced and the delivery stream consumed from ``setup_hook``."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.alerts.model import ChatRef
from bot.alerts.service import Caller, Reply, WatchService
from bot.chat.actions import verdicts_csv
from bot.chat.buttons import ReportButtons
from bot.chat.commands import AuditCommand, build_request
from bot.chat.conversation import Controller
from bot.chat.uploads import UploadError, check_upload, safe_name
from bot.discord.buttons import ReportButton, report_view
from bot.discord.commands import build_commands
from bot.discord.conversation import TOKEN_LIFETIME, Conversation
from bot.discord.format import escape_markdown, truncate
from bot.discord.render import MARKUP, breakdown_embed, handle_label, more_text
from bot.discord.review import DiscordReview, ReviewButton, build_review_commands
from bot.discord.surface import NO_PINGS, DiscordSurface
from bot.discord.transport import use_gateway_from_api
from bot.pipeline.delivery import DeliveryConsumer
from bot.pipeline.messages import AuditRequest, ReplyTo
from bot.pipeline.resilience import restarting
from bot.pipeline.service import Submission

if TYPE_CHECKING:
    from bot.chat.services import ChatServices

__all__ = ["ADAPTER", "AuditBot"]

log = logging.getLogger("followaudit.discord")

ADAPTER = "discord"
#: Accounts shown per "more" page; the embed itself shows the first five.
MORE_PAGE = 10
FIRST_MORE = 5
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CHANNEL = re.compile(r"<#(\d{1,20})>|(\d{1,20})")
WatchAction = Callable[[WatchService, ChatRef, Caller], Awaitable[Reply]]


class AuditBot(discord.Client):
    """Slash commands over the audit service; answers arrive through the delivery stream."""

    def __init__(self, app: ChatServices, *, clock: Callable[[], float] = time.time) -> None:
        """On the process's services (``bot.app``): settings, Redis, the audit and watch
        services, the reviews and this chat's state; ``clock`` (wall-clock seconds) decides
        when interaction tokens have expired."""
        settings = app.settings
        super().__init__(
            intents=discord.Intents(guilds=True),
            allowed_mentions=NO_PINGS,
            guild_ready_timeout=settings.discord.guild_ready_timeout,
        )
        self.settings, self.redis, self.clock = settings, app.redis, clock
        self.service = app.audit
        self.watches: WatchService | None = app.alerts.service
        self.state = app.chat_states[ADAPTER]
        self.buttons = ReportButtons(app.audit, self.state)
        self.controller = Controller(DiscordSurface(self, self.buttons, clock=clock), clock=clock)
        self.consumer = DeliveryConsumer(
            app.redis, ADAPTER, self.controller.deliver, prefix=settings.redis.prefix,
            consumer=f"{ADAPTER}-{socket.gethostname()}",
            claim_idle=settings.delivery.claim_idle_seconds,
        )  # fmt: skip
        self.tree = app_commands.CommandTree(self)
        self.review: DiscordReview | None = DiscordReview(settings, app.review)
        for command in build_commands(self):
            self.tree.add_command(command)
        if self.review is not None:
            for review_command in build_review_commands(self):
                self.tree.add_command(review_command)
        self.tree.on_error = self._on_command_error  # type: ignore[method-assign]
        self._stop_consumer = asyncio.Event()
        self._consumer_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifetime
    async def setup_hook(self) -> None:
        ds = self.settings.discord
        if ds.gateway_url is None:
            await use_gateway_from_api(self)
        self.add_dynamic_items(ReportButton, ReviewButton)
        if ds.dev_guild_id is not None:
            guild = discord.Object(ds.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        self._consumer_task = asyncio.create_task(self._consume(), name="discord-deliveries")

    async def _consume(self) -> None:
        """Deliver until closed; a crash of the loop is logged and the loop restarted."""
        stop = self._stop_consumer
        await restarting(lambda: self.consumer.run(stop), stop, what="delivery loop", logger=log)

    async def close(self) -> None:
        self._stop_consumer.set()
        if self._consumer_task is not None:
            try:
                await asyncio.wait_for(self._consumer_task, 5.0)
            except (TimeoutError, asyncio.CancelledError):
                self._consumer_task.cancel()
            self._consumer_task = None
        await self.controller.aclose()
        await super().close()

    async def _on_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """One error handler: log it, tell the user in one line (never the exception text)."""
        log.error("command failed", exc_info=error)
        text = "⚠️ Something went wrong on our side; please try again in a minute."
        try:
            if interaction.response.is_done():
                await interaction.edit_original_response(
                    content=text, embeds=[], attachments=[], view=None, allowed_mentions=NO_PINGS
                )
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=NO_PINGS
                )
        except discord.HTTPException:
            log.warning("could not report the error to the user", exc_info=True)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def scope_of(interaction: discord.Interaction[Any]) -> str:
        """Where "recent audits" are kept: the server, or the user's DMs."""
        if interaction.guild_id is not None:
            return f"guild:{interaction.guild_id}"
        return f"dm:{interaction.user.id}"

    def conversation_of(self, interaction: discord.Interaction[Any]) -> Conversation:
        created = interaction.created_at.timestamp()
        return Conversation(
            application_id=interaction.application_id,
            token=interaction.token,
            channel_id=interaction.channel_id or 0,
            expires_at=min(created, self.clock()) + TOKEN_LIFETIME,
            guild_id=interaction.guild_id,
            user_id=interaction.user.id,
        )

    def _request(
        self, interaction: discord.Interaction[Any], command: AuditCommand
    ) -> tuple[Conversation, AuditRequest]:
        conv = self.conversation_of(interaction)
        request = build_request(
            command, user=f"discord:{interaction.user.id}",
            chat=f"discord:{interaction.channel_id}", reply=ReplyTo(ADAPTER, conv.to_dict()),
        )  # fmt: skip
        return conv, request

    # ------------------------------------------------------------------ audits
    async def audit_handle(
        self, interaction: discord.Interaction[Any], command: AuditCommand
    ) -> None:
        """Defer at once, then submit; the answer comes by edits of the original response."""
        await interaction.response.defer(thinking=True)
        conv, request = self._request(interaction, command)
        prefix = "bsky" if command.platform == "bluesky" else command.platform
        await self.state.add_recent(self.scope_of(interaction), f"{prefix}:{command.handle}")
        await self._submit(interaction, conv, request)

    async def audit_export(
        self, interaction: discord.Interaction[Any], export: discord.Attachment,
        sample: int | None,
    ) -> None:  # fmt: skip
        """Audit an uploaded export: refuse what is clearly not one, download it (bounded) and
        hand it to the service, which parks it in Redis for the worker."""
        limit = self.settings.uploads.max_bytes
        try:
            check_upload(export.filename, export.size, limit)
        except UploadError as exc:
            await interaction.response.send_message(
                f"⚠️ {escape_markdown(str(exc))}", ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        await interaction.response.defer(thinking=True)
        data = await export.read()
        if len(data) > limit or not data.strip():
            await interaction.edit_original_response(
                content="⚠️ That file is empty or too large.", allowed_mentions=NO_PINGS
            )
            return
        conv = self.conversation_of(interaction)
        maximum = self.settings.sample.max
        submission = await self.service.submit_upload(
            data, user=f"discord:{interaction.user.id}", chat=f"discord:{interaction.channel_id}",
            reply=ReplyTo(ADAPTER, conv.to_dict()), name=safe_name(export.filename),
            sample=maximum if sample is None else max(1, min(sample, maximum)),
        )  # fmt: skip
        await self._answer_submission(interaction, conv, submission)

    async def _submit(
        self, interaction: discord.Interaction[Any], conv: Conversation, request: AuditRequest
    ) -> None:
        await self._answer_submission(interaction, conv, await self.service.submit(request))

    async def _answer_submission(
        self, interaction: discord.Interaction[Any], conv: Conversation, submission: Submission
    ) -> None:
        if submission.status == "refused":
            assert submission.refusal is not None
            await interaction.followup.send(
                f"⚠️ {escape_markdown(submission.refusal.message)}", ephemeral=True,
                allowed_mentions=NO_PINGS,
            )  # fmt: skip
            await interaction.delete_original_response()
            return
        await self.controller.submitted(conv, submission)

    # ------------------------------------------------------------------ watchlists
    @staticmethod
    def watch_chat(interaction: discord.Interaction[Any]) -> ChatRef:
        guild = interaction.guild_id
        return ChatRef(ADAPTER, str(interaction.channel_id), str(guild) if guild else None)

    @staticmethod
    def is_admin(interaction: discord.Interaction[Any]) -> bool:
        """Manage Server (or Administrator) in a server; in a DM the user owns the chat."""
        if interaction.guild_id is None:
            return True
        perms = interaction.permissions
        return bool(perms.manage_guild or perms.administrator)

    async def watch_command(
        self, interaction: discord.Interaction[Any], act: WatchAction, *, fixed: str | None = None
    ) -> None:
        """Defer at once (a baseline audit takes a moment), run ``act`` with this channel and the
        caller, and edit in its reply in Discord's markup (platform text escaped, pinging
        nobody)."""
        await interaction.response.defer(thinking=True)
        if self.watches is None:
            text = "Watchlists are not available on this bot."
        elif fixed is not None:
            text = fixed
        else:
            caller = Caller(str(interaction.user.id), self.is_admin(interaction))
            reply = await act(self.watches, self.watch_chat(interaction), caller)
            text = reply.render(MARKUP)
        await interaction.edit_original_response(
            content=truncate(text, 2000), allowed_mentions=NO_PINGS
        )

    async def alerts_command(
        self, interaction: discord.Interaction[Any], channel: str | None, every: str | None = None
    ) -> None:
        """``/alerts`` shows; ``/alerts channel:#name`` (this server's) or ``here`` moves,
        ``channel:off``/``on`` pauses or resumes, ``every:12h`` sets how often."""
        typed = (channel or "").strip().lower()
        if channel is None and every is None:
            await self.watch_command(interaction, lambda svc, chat, caller: svc.show_alerts(chat))
            return

        async def then_every(
            svc: WatchService, chat: ChatRef, caller: Caller, first: Reply
        ) -> Reply:
            """``every`` given beside a channel or off/on: change the interval too."""
            if every is None or not first.ok:
                return first
            return await svc.set_interval(chat, caller, every)

        if channel is None or typed in ("off", "on"):

            async def option(svc: WatchService, chat: ChatRef, caller: Caller) -> Reply:
                if typed:
                    first = await svc.pause_alerts(chat, caller, typed == "off")
                    return await then_every(svc, chat, caller, first)
                return await svc.set_interval(chat, caller, every or "")

            await self.watch_command(interaction, option)
            return
        here = self.watch_chat(interaction)
        to: ChatRef | None = None
        problem: str | None = None
        if typed != "here":
            match = _CHANNEL.fullmatch(typed)
            target = self.get_channel(int(match.group(1) or match.group(2))) if match else None
            guild = getattr(target, "guild", None)
            if target is None or guild is None or guild.id != interaction.guild_id:
                problem = "Name a channel of this server (#channel) or here."
            elif str(target.id) != here.chat_id:
                to = ChatRef(ADAPTER, str(target.id), here.server_id)
        if problem is not None and not self.is_admin(interaction):
            problem = None  # the refusal comes first: nothing about other channels leaks

        async def change(svc: WatchService, chat: ChatRef, caller: Caller) -> Reply:
            return await then_every(svc, chat, caller, await svc.set_alerts(chat, caller, to))

        await self.watch_command(interaction, change, fixed=problem)

    # ------------------------------------------------------------------ buttons
    async def on_report_button(
        self, interaction: discord.Interaction[Any], action: str, job_id: str, offset: int
    ) -> None:
        if action == "redo":
            await self._rerun(interaction, job_id)
            return
        report = await self.buttons.report(job_id)
        if report is None:
            await interaction.response.send_message(
                "This report has expired; run /audit again.", ephemeral=True,
                allowed_mentions=NO_PINGS,
            )  # fmt: skip
            return
        platform, handle, _name = report.target
        label = handle_label(platform, handle) if handle else "this audit"
        if action == "more":
            accounts = report.accounts
            start = min(offset or FIRST_MORE, len(accounts))
            text, shown = more_text(label, accounts[start : start + MORE_PAGE], start,
                                    len(accounts))  # fmt: skip
            kwargs: dict[str, Any] = {}
            if start + shown < len(accounts):
                kwargs["view"] = report_view(job_id, more_from=start + shown)
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_PINGS, **kwargs
            )
        elif action == "why":
            embed = breakdown_embed(
                label, report.reasons(), report.audit.flagged, report.audit.sample.size
            )
            await interaction.response.send_message(
                embed=discord.Embed.from_dict(embed), ephemeral=True, allowed_mentions=NO_PINGS
            )
        elif action == "csv":
            data, complete = verdicts_csv(report)
            name = _SAFE_NAME.sub("_", f"verdicts-{handle or job_id}")[:80] + ".csv"
            note = "" if complete else " (only the suspicious accounts: this report kept no more)"
            await interaction.response.send_message(
                f"Verdicts of the sample audited for {escape_markdown(label)}{note}.",
                file=discord.File(io.BytesIO(data), name),
                ephemeral=True, allowed_mentions=NO_PINGS,
            )  # fmt: skip

    async def _rerun(self, interaction: discord.Interaction[Any], job_id: str) -> None:
        record = await self.buttons.record(job_id)
        if record is None or record.upload:
            await interaction.response.send_message(
                "This audit cannot be re-run from here; use /audit again.", ephemeral=True,
                allowed_mentions=NO_PINGS,
            )  # fmt: skip
            return
        await self.audit_handle(
            interaction, AuditCommand(record.platform, record.handle, record.sample, fresh=True)
        )
