"""Answers to Discord conversations over REST: progress edits, the final report, fallbacks.

A conversation (``bot.discord.conversation``) comes back with every delivery, so a restarted bot
answers what arrived while it was down. While the interaction token lives, the original response
is edited; once it has expired (or Discord refuses it), the report goes to the channel as a
normal message. Every message pings nobody.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import discord

from bot.chat.state import ChatState
from bot.discord.buttons import report_view
from bot.discord.conversation import Conversation, ConversationError
from bot.discord.format import CONTENT_LIMIT, escape_markdown, truncate
from bot.discord.render import (
    CHART_NAME,
    error_text,
    handle_label,
    progress_text,
    report_embed,
    report_text,
)
from bot.infra import durations
from bot.pipeline.messages import AuditOutcome, AuditRequest, Delivery
from bot.pipeline.service import Submission

__all__ = ["NO_PINGS", "Replies"]

log = logging.getLogger("followaudit.discord")

NO_PINGS = discord.AllowedMentions.none()
#: Statuses that mean the interaction token can no longer be used (expired, unknown).
_TOKEN_GONE = frozenset({401, 403, 404})
_REMEMBERED = 10_000


def label_of(request: AuditRequest) -> str:
    return handle_label(request.platform, request.handle)


class Replies:
    """Edits and messages for one bot; the delivery consumer calls ``deliver``."""

    def __init__(
        self,
        client: discord.Client,
        state: ChatState,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.state = state
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        #: request ids that a delivery has already touched, oldest first (bounded).
        self._touched: OrderedDict[str, bool] = OrderedDict()
        #: the newest progress line not yet shown, and the task showing them, per request.
        self._pending: dict[str, tuple[Conversation, str]] = {}
        self._painters: dict[str, asyncio.Task[None]] = {}
        self.fallbacks = 0

    async def aclose(self) -> None:
        """Stop showing progress (answers are never left half-sent: they are awaited)."""
        painters = list(self._painters.values())
        for task in painters:
            task.cancel()
        await asyncio.gather(*painters, return_exceptions=True)

    # ------------------------------------------------------------------ bookkeeping
    def _lock(self, request_id: str) -> asyncio.Lock:
        return self._locks.setdefault(request_id, asyncio.Lock())

    def _touch(self, request_id: str, final: bool) -> None:
        self._touched[request_id] = final or self._touched.get(request_id, False)
        self._touched.move_to_end(request_id)
        while len(self._touched) > _REMEMBERED:
            self._touched.popitem(last=False)

    def _webhook(self, conv: Conversation) -> discord.Webhook:
        return discord.Webhook.partial(conv.application_id, conv.token, client=self.client)

    # ------------------------------------------------------------------ entry points
    async def deliver(self, delivery: Delivery) -> None:
        """One pipeline delivery: a progress edit or the final answer."""
        try:
            conv = Conversation.from_dict(delivery.request.reply.conversation)
        except ConversationError as exc:
            log.error("delivery without a usable conversation dropped: %s", exc)
            return
        rid = delivery.request.request_id
        if delivery.kind == "progress" and delivery.progress is not None:
            if not self._touched.get(rid):  # else the answer is already there
                self._touch(rid, final=False)
                text = progress_text(label_of(delivery.request), delivery.progress)
                self._show_progress(rid, conv, text)
            return
        if delivery.kind == "result" and delivery.outcome is not None:
            async with self._lock(rid):
                self._touch(rid, final=True)
                self._pending.pop(rid, None)
                await self._answer(conv, delivery.request, delivery.job_id, delivery.outcome)
            self._locks.pop(rid, None)

    def _show_progress(self, rid: str, conv: Conversation, text: str) -> None:
        """Progress is shown in the background, newest line only: a slow or rate-limited edit
        never holds up other conversations' deliveries, and stale lines are skipped."""
        self._pending[rid] = (conv, text)
        if rid not in self._painters:
            self._painters[rid] = asyncio.create_task(self._paint(rid), name=f"progress-{rid}")

    async def _paint(self, rid: str) -> None:
        try:
            while rid in self._pending:
                async with self._lock(rid):
                    item = self._pending.pop(rid, None)
                    if item is None or self._touched.get(rid):
                        break  # answered meanwhile
                    try:
                        await self._progress_text(*item)
                    except discord.HTTPException as exc:
                        log.warning("progress edit failed (%s); skipped", exc.status)
        finally:
            self._painters.pop(rid, None)

    async def submitted(self, conv: Conversation, submission: Submission) -> None:
        """Show what ``submit`` said, unless a delivery has already overtaken it."""
        request = submission.request
        rid = request.request_id
        async with self._lock(rid):
            if submission.status == "cached" and submission.outcome is not None:
                self._touch(rid, final=True)
                age = durations.age(submission.age or 0)
                await self._answer(
                    conv, request, submission.job_id or "", submission.outcome, cached_age=age
                )
            elif rid not in self._touched:
                text = f"⏳ {escape_markdown(submission.describe())}"
                await self._progress_text(conv, text)
        if submission.answered:
            self._locks.pop(rid, None)

    # ------------------------------------------------------------------ progress
    async def _progress_text(self, conv: Conversation, text: str) -> None:
        if not conv.token_alive(self.clock()):
            return  # the report will go to the channel; progress there would be noise
        try:
            await self._webhook(conv).edit_message(
                "@original",  # type: ignore[arg-type]  # discord.py formats it into the route
                content=truncate(text, CONTENT_LIMIT),
                allowed_mentions=NO_PINGS,
            )
        except discord.HTTPException as exc:
            if exc.status not in _TOKEN_GONE:
                raise
            log.info("progress edit refused (%s); skipped", exc.status)

    # ------------------------------------------------------------------ answers
    def _message(
        self, request: AuditRequest, job_id: str, outcome: AuditOutcome, cached_age: str | None
    ) -> dict[str, Any]:
        """Keyword arguments of the answer: an embed with its chart and buttons, or a line."""
        label = label_of(request)
        if not outcome.ok or outcome.report is None:
            error = outcome.error
            text = (
                error_text(label, error)
                if error
                else f"⚠️ The audit of {escape_markdown(label)} failed."
            )
            return {"content": text, "embeds": [], "attachments": [], "view": None}
        files = []
        if outcome.chart is not None:
            files.append(discord.File(io.BytesIO(outcome.chart), CHART_NAME))
        embed = report_embed(outcome.report, chart=bool(files), cached_age=cached_age)
        view = report_view(job_id, rerun=not request.options) if job_id else None
        return {
            "content": None,
            "embeds": [discord.Embed.from_dict(embed)],
            "attachments": files,
            "view": view,
        }

    async def _answer(
        self,
        conv: Conversation,
        request: AuditRequest,
        job_id: str,
        outcome: AuditOutcome,
        *,
        cached_age: str | None = None,
    ) -> None:
        if outcome.ok and job_id:
            await self.state.remember_job(job_id, request)
        if conv.token_alive(self.clock()):
            message = self._message(request, job_id, outcome, cached_age)
            try:
                await self._webhook(conv).edit_message(
                    "@original",  # type: ignore[arg-type]
                    allowed_mentions=NO_PINGS,
                    **message,
                )
                return
            except discord.HTTPException as exc:
                if exc.status == 400:
                    await self._plain(conv, outcome, exc)
                    return
                if exc.status not in _TOKEN_GONE:
                    raise  # Discord trouble: the delivery is retried later
                log.info("original response gone (%s); posting in the channel", exc.status)
        try:
            await self._to_channel(conv, request, job_id, outcome, cached_age)
        except discord.HTTPException as exc:
            if exc.status not in (400, 403, 404):
                raise
            # No way to post there (no access, channel gone): retrying cannot help.
            log.warning("report for channel %s dropped: %s", conv.channel_id, exc.status)

    async def _plain(self, conv: Conversation, outcome: AuditOutcome, exc: Exception) -> None:
        """Discord refused the embed (a bug of ours): the report's Markdown text instead, once."""
        log.error("report embed refused by Discord; sending the text rendering", exc_info=exc)
        text = report_text(outcome.report) if outcome.report else "(no report)"
        try:
            await self._webhook(conv).edit_message(
                "@original",  # type: ignore[arg-type]
                content=truncate(text, CONTENT_LIMIT), embeds=[], attachments=[], view=None,
                allowed_mentions=NO_PINGS,
            )  # fmt: skip
        except discord.HTTPException:
            log.exception("the text rendering was refused too; report dropped")

    async def _to_channel(
        self,
        conv: Conversation,
        request: AuditRequest,
        job_id: str,
        outcome: AuditOutcome,
        cached_age: str | None,
    ) -> None:
        """The answer as a normal channel message, for an audit that outlived its token."""
        message = self._message(request, job_id, outcome, cached_age)
        lead = f"The audit of {escape_markdown(label_of(request))} asked for here is done."
        content = message["content"] or lead
        channel = self.client.get_partial_messageable(conv.channel_id)
        kwargs: dict[str, Any] = {"content": content, "allowed_mentions": NO_PINGS}
        if message["embeds"]:
            kwargs["embeds"] = message["embeds"]
        if message["attachments"]:
            kwargs["files"] = message["attachments"]
        if message["view"] is not None:
            kwargs["view"] = message["view"]
        await channel.send(**kwargs)
        self.fallbacks += 1
