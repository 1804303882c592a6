"""Discord glue of the review conversation (``bot.chat.review``): ``/review`` and ``/metrics``
and the Fake / Genuine / Can't tell / Stop buttons. A card is an ephemeral reply (each reviewer
labels in their own view); a press edits it into the next account or the results. Every
platform string goes through the project's Markdown escaper, and nothing pings anyone.

No ``from __future__ import annotations``: discord.py reads the command annotations at runtime.
"""

import logging
import re
from typing import Any

import discord
from discord import app_commands

from bot.chat.commands import CommandError
from bot.chat.review import (
    BUTTONS,
    Card,
    Press,
    PressResult,
    ReviewDesk,
    parse_review_args,
    press_data,
)
from bot.discord.buttons import FromMatch
from bot.discord.format import escape_markdown, masked_link, truncate
from bot.discord.surface import NO_PINGS
from bot.review import Reviewer, ReviewError
from bot.settings import Settings

__all__ = ["DiscordReview", "ReviewButton", "build_review_commands", "card_markdown", "review_view"]

log = logging.getLogger("followaudit.discord")

_STYLES = {
    "f": discord.ButtonStyle.danger,
    "g": discord.ButtonStyle.success,
    "u": discord.ButtonStyle.secondary,
    "s": discord.ButtonStyle.secondary,
}
_CAPTIONS = dict(BUTTONS)
_TEMPLATE = r"rv:(?P<code>[fgus]):(?P<index>\d{1,3}):(?P<review>[0-9a-f]{24})"


def card_markdown(card: Card, answer: str | None = None) -> str:
    """The account to label (``answer``: the previous label and its score, above it)."""
    handle = masked_link(card.handle, card.url) if card.url else escape_markdown(card.handle)
    lines = [f"**{escape_markdown(card.heading)}**: {handle}"]
    lines += [escape_markdown(x) for x in card.lines]
    if answer:
        lines = [escape_markdown(answer), "", *lines]
    return truncate("\n".join(lines), 2000)


class ReviewButton(FromMatch, discord.ui.DynamicItem[discord.ui.Button[Any]], template=_TEMPLATE):
    """One review button; the press goes to the client's ``review.on_press``."""

    def __init__(self, code: str, review_id: str, index: int) -> None:
        button = discord.ui.Button[Any](
            label=_CAPTIONS[code], style=_STYLES[code], custom_id=press_data(code, review_id, index)
        )
        super().__init__(button)
        self.press = Press(code, index, review_id)

    @classmethod
    def from_match(cls, match: re.Match[str]) -> "ReviewButton":
        return cls(match["code"], match["review"], int(match["index"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        review: DiscordReview | None = getattr(interaction.client, "review", None)
        if review is None:
            await interaction.response.send_message(
                "Reviews are not available on this bot.", ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        await review.on_press(interaction, self.press)


def review_view(card: Card) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for code, _caption in BUTTONS:
        view.add_item(ReviewButton(code, card.review_id, card.index))
    return view


def _reviewer(interaction: discord.Interaction[Any]) -> Reviewer:
    return Reviewer("discord", str(interaction.user.id))


class DiscordReview:
    """The review commands and buttons of one bot, over the process's review desk."""

    def __init__(self, settings: Settings, desk: ReviewDesk) -> None:
        self.settings = settings
        self.desk = desk

    @staticmethod
    def is_admin(interaction: discord.Interaction[Any]) -> bool:
        """Administrator or Manage Server in a server; in a DM nobody (only the settings'
        reviewers label there)."""
        if interaction.guild_id is None:
            return False
        perms = interaction.permissions
        return bool(perms.manage_guild or perms.administrator)

    async def _admin(self, interaction: discord.Interaction[Any]) -> bool:
        return self.is_admin(interaction)

    async def _say(self, interaction: discord.Interaction[Any], text: str) -> None:
        await interaction.response.send_message(
            truncate(escape_markdown(text), 2000), ephemeral=True, allowed_mentions=NO_PINGS
        )

    async def on_review(self, interaction: discord.Interaction[Any], words: list[str]) -> None:
        try:
            command = parse_review_args(words, self.settings)
        except CommandError as exc:
            await self._say(interaction, str(exc))
            return
        try:
            if command.results:
                text = await self.desk.results(command)
                await interaction.response.send_message(
                    truncate(escape_markdown(text), 2000), allowed_mentions=NO_PINGS
                )
                return
            card = await self.desk.open(
                command, _reviewer(interaction), lambda: self._admin(interaction)
            )
        except ReviewError as exc:
            await self._say(interaction, exc.message)
            return
        await interaction.response.send_message(
            card_markdown(card), view=review_view(card), ephemeral=True, allowed_mentions=NO_PINGS
        )

    async def on_metrics(self, interaction: discord.Interaction[Any]) -> None:
        text = await self.desk.metrics()
        await interaction.response.send_message(
            truncate(escape_markdown(text), 2000), allowed_mentions=NO_PINGS
        )

    async def on_press(self, interaction: discord.Interaction[Any], press: Press) -> None:
        try:
            result = await self.desk.press(
                press, _reviewer(interaction), lambda: self._admin(interaction)
            )
        except ReviewError as exc:
            await self._say(interaction, exc.message)
            return
        content, view = _press_markdown(result)
        await interaction.response.edit_message(
            content=content, view=view, allowed_mentions=NO_PINGS
        )


def _press_markdown(result: PressResult) -> tuple[str, discord.ui.View | None]:
    if result.card is not None:
        return card_markdown(result.card, result.answer), review_view(result.card)
    parts = [p for p in (result.answer, result.results) if p]
    return truncate(escape_markdown("\n\n".join(parts)), 2000), None


def build_review_commands(bot: Any) -> list[app_commands.Command[Any, ..., Any]]:
    """``/review`` and ``/metrics`` of ``bot`` (an ``AuditBot`` with a ``review``)."""

    @app_commands.command(
        name="review", description="Label a random sample of an audit's followers"
    )
    @app_commands.allowed_contexts(guilds=True, dms=True)
    @app_commands.describe(
        handle="The audited account: bsky:alice.bsky.social, @user@example.social, x:jack",
        what="How many followers to draw (1-100, default 25), or results",
    )
    async def review(
        interaction: discord.Interaction, handle: str, what: str | None = None
    ) -> None:
        await bot.review.on_review(interaction, [handle, what or ""])

    @app_commands.command(
        name="metrics", description="The model's AUC and calibration on the reviewers' labels"
    )
    @app_commands.allowed_contexts(guilds=True, dms=True)
    async def metrics(interaction: discord.Interaction) -> None:
        await bot.review.on_metrics(interaction)

    return [review, metrics]
