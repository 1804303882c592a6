"""The buttons under a report, as Discord components: their ``custom_id`` is the data of
``bot.chat.buttons`` (``fa:<action>:<job id>[:<offset>]``), so buttons keep working after a
restart (discord.py ``DynamicItem``s are matched by template, not by a stored view)."""

from __future__ import annotations

import re
from typing import Any, Protocol, Self

import discord

from bot.chat.buttons import TEMPLATE, ReportPress

__all__ = ["ACTIONS", "ButtonHandler", "FromMatch", "ReportButton", "report_view"]


class ButtonHandler(Protocol):
    """What a press goes to: the bot (``AuditBot``), without this module importing it."""

    async def on_report_button(
        self, interaction: discord.Interaction[Any], action: str, job_id: str, offset: int
    ) -> None: ...


#: action -> (label, style)
ACTIONS: dict[str, tuple[str, discord.ButtonStyle]] = {
    "more": ("More suspicious accounts", discord.ButtonStyle.primary),
    "why": ("Reason breakdown", discord.ButtonStyle.secondary),
    "csv": ("CSV of verdicts", discord.ButtonStyle.secondary),
    "redo": ("Re-run fresh", discord.ButtonStyle.secondary),
}


class FromMatch:
    """Mixed in before ``discord.ui.DynamicItem``: the item a press makes again is built from its
    template's match alone (``from_match``)."""

    @classmethod
    def from_match(cls, match: re.Match[str]) -> Self:
        raise NotImplementedError

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls.from_match(match)


class ReportButton(FromMatch, discord.ui.DynamicItem[discord.ui.Button[Any]], template=TEMPLATE):
    """One report button; the press goes to the client's ``on_report_button``."""

    def __init__(self, action: str, job_id: str, offset: int = 0) -> None:
        label, style = ACTIONS[action]
        custom_id = ReportPress(action, job_id, offset).data
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))
        self.action, self.job_id, self.offset = action, job_id, offset

    @classmethod
    def from_match(cls, match: re.Match[str]) -> ReportButton:
        return cls(match["action"], match["job"], int(match["offset"] or 0))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: ButtonHandler = interaction.client  # the AuditBot
        await bot.on_report_button(interaction, self.action, self.job_id, self.offset)


def report_view(
    job_id: str, *, rerun: bool = True, more_from: int | None = None
) -> discord.ui.View:
    """Buttons for a report (``more_from`` None: the full set), or one "more" for a page."""
    view = discord.ui.View(timeout=None)
    if more_from is not None:
        view.add_item(ReportButton("more", job_id, more_from))
        return view
    for action in ACTIONS:
        if action != "redo" or rerun:
            view.add_item(ReportButton(action, job_id))
    return view
