"""Discord as the conversation controller's surface (``bot.chat.conversation``), over REST.

A request's conversation (``bot.discord.conversation``) is its interaction: while the token
lives, the original response is edited; once it has expired (or Discord refuses it), the report
goes to the channel as a normal message and progress is skipped (noise there). Every message
pings nobody.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import discord

from bot.chat.buttons import ReportButtons
from bot.chat.conversation import Answer, ChatGone, MessageGone, Result
from bot.discord import render
from bot.discord.buttons import report_view
from bot.discord.conversation import Conversation
from bot.discord.format import CONTENT_LIMIT, escape_markdown, truncate
from bot.infra import durations
from bot.pipeline.messages import AuditRequest, Progress, ReplyTo
from bot.pipeline.service import Submission

__all__ = ["NO_PINGS", "DiscordSurface", "Post"]

log = logging.getLogger("followaudit.discord")

NO_PINGS: Final = discord.AllowedMentions.none()
#: Statuses that mean the interaction token can no longer be used (expired, unknown).
_TOKEN_GONE: Final = frozenset({401, 403, 404})


@dataclass(frozen=True, slots=True)
class Post:
    """One Discord message: a line, or (``final``) the answer that replaces the response whole:
    an embed with its chart and buttons, the report as text should Discord refuse the embed, and
    the line that leads it in the channel once the interaction token has expired."""

    content: str | None
    final: bool = False
    embed: dict[str, Any] | None = None
    chart: bytes | None = None
    view: discord.ui.View | None = None
    plain: str | None = None
    lead: str = ""

    def files(self) -> list[discord.File]:
        """The chart as a fresh file (one is spent by each upload)."""
        return (
            [] if self.chart is None else [discord.File(io.BytesIO(self.chart), render.CHART_NAME)]
        )


def label_of(request: AuditRequest) -> str:
    return render.handle_label(request.platform, request.handle)


class DiscordSurface:
    """Edits of interaction responses and channel messages for one bot."""

    failures: tuple[type[Exception], ...] = (discord.HTTPException,)
    progress_when_gone = False

    def __init__(
        self,
        client: discord.Client,
        buttons: ReportButtons,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.buttons = buttons
        self.clock = clock
        self.fallbacks = 0

    def conversation(self, reply: ReplyTo) -> Conversation:
        return Conversation.from_dict(reply.conversation)

    def progress(self, request: AuditRequest, progress: Progress) -> Post:
        return Post(truncate(render.progress_text(label_of(request), progress), CONTENT_LIMIT))

    def status(self, submission: Submission) -> Post:
        return Post(truncate(f"⏳ {escape_markdown(submission.describe())}", CONTENT_LIMIT))

    async def answer(self, result: Result) -> Answer[Post]:
        """An embed with its chart and buttons, or a line; the job is remembered for "Re-run"."""
        request, job_id, outcome, cached = (
            result.request,
            result.job_id,
            result.outcome,
            result.cached,
        )
        await self.buttons.remember(result)
        label = label_of(request)
        lead = f"The audit of {escape_markdown(label)} asked for here is done."
        if not outcome.ok or outcome.report is None:
            error = outcome.error
            text = (
                render.error_text(label, error)
                if error
                else f"⚠️ The audit of {escape_markdown(label)} failed."
            )
            return Answer([Post(text, final=True, lead=lead)])
        cached_age = None if cached is None else durations.age(cached.age or 0)
        embed = render.report_embed(
            outcome.report, chart=outcome.chart is not None, cached_age=cached_age
        )
        return Answer([Post(
            None, final=True, embed=embed, chart=outcome.chart, lead=lead,
            view=report_view(job_id, rerun=not request.options) if job_id else None,
            plain=render.report_text(outcome.report),
        )])  # fmt: skip

    def _webhook(self, conv: Conversation) -> discord.Webhook:
        return discord.Webhook.partial(conv.application_id, conv.token, client=self.client)

    async def edit(self, conv: Conversation, message: Post) -> None:
        if not conv.token_alive(self.clock()):
            raise MessageGone("interaction token expired")
        kwargs: dict[str, Any] = {"content": message.content, "allowed_mentions": NO_PINGS}
        if message.final:
            embeds = [] if message.embed is None else [discord.Embed.from_dict(message.embed)]
            kwargs.update(embeds=embeds, attachments=message.files(), view=message.view)
        try:
            await self._webhook(conv).edit_message(
                "@original",  # type: ignore[arg-type]  # discord.py formats it into the route
                **kwargs,
            )
        except discord.HTTPException as exc:
            if exc.status == 400 and message.final:
                await self._plain(conv, message, exc)
                return
            if exc.status in _TOKEN_GONE:
                raise MessageGone(f"original response refused ({exc.status})") from exc
            raise  # Discord trouble: a delivery is retried later

    async def _plain(self, conv: Conversation, message: Post, exc: Exception) -> None:
        """Discord refused the embed (a bug of ours): the report's Markdown text instead, once."""
        log.error("report embed refused by Discord; sending the text rendering", exc_info=exc)
        try:
            await self._webhook(conv).edit_message(
                "@original",  # type: ignore[arg-type]
                content=truncate(message.plain or "(no report)", CONTENT_LIMIT), embeds=[],
                attachments=[], view=None, allowed_mentions=NO_PINGS,
            )  # fmt: skip
        except discord.HTTPException:
            log.exception("the text rendering was refused too; report dropped")

    async def send(self, conv: Conversation, message: Post, after: object | None) -> None:
        """The answer as a normal channel message, for an audit that outlived its token."""
        kwargs: dict[str, Any] = {
            "content": message.content or message.lead,
            "allowed_mentions": NO_PINGS,
        }
        if message.embed is not None:
            kwargs["embeds"] = [discord.Embed.from_dict(message.embed)]
        if message.chart is not None:
            kwargs["files"] = message.files()
        if message.view is not None:
            kwargs["view"] = message.view
        try:
            await self.client.get_partial_messageable(conv.channel_id).send(**kwargs)
        except discord.HTTPException as exc:
            if exc.status not in (400, 403, 404):
                raise
            # No way to post there (no access, channel gone): retrying cannot help.
            raise ChatGone(f"channel {conv.channel_id}: {exc.status}") from exc
        self.fallbacks += 1
