"""End to end on the fake Discord gateway and REST API with the real pipeline (issue 18): a
server audits alice, a reviewer named in the settings and a server admin review 25 followers
drawn at random with the buttons, a member who is neither is refused; the bot restarts (a new
composition root on the same Redis) and the old card's buttons carry on; Stop and ``/review
HANDLE results`` show the reviewed share with its interval; ``/metrics`` the model on the
labels. Every reply pings nobody and shows hostile names literally.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import open_app
from bot.discord.format import escape_markdown
from bot.review import NOT_ALLOWED
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.discord_api import MANAGE_GUILD, FakeDiscord, Interaction, Reply
from tests.test_discord_bot import RUNNER, SUBJECT, World, assert_inert, populate

HANDLE = f"bsky:{SUBJECT}"
LISTED = 5001


@pytest.fixture
async def world(redis: Any, make_settings: Any) -> AsyncIterator[World]:
    async with FakeBluesky() as bsky, FakeDiscord() as fake:
        settings = make_settings(
            bluesky={"base_url": bsky.base_url, "max_retries": 0},
            discord={"token": fake.token, "api_base": fake.api_base,
                     "gateway_url": fake.gateway_url, "guild_ready_timeout": 0.05},
            worker={"runner": RUNNER, "progress_interval_seconds": 0.0, "concurrency": 2},
            delivery={"claim_idle_seconds": 1.0},
            review={"reviewers": {"discord": [LISTED]}},
        )  # fmt: skip
        guild = fake.add_guild("Team")
        async with open_app(settings) as app:
            w = World(redis, settings, fake, bsky, guild, app)
            try:
                yield w
            finally:
                await w.close()


def position(reply: Reply | str) -> int | None:
    """The 1-based position a card shows (**7 of 25**), None when it shows none."""
    text = reply if isinstance(reply, str) else reply.content
    found = re.search(r"^\*\*(\d+) of 25\*\*:", text, re.MULTILINE)
    return int(found.group(1)) if found else None


async def review(world: World, user: dict[str, Any], what: str | None = None, **kw: Any) -> Reply:
    options = {"handle": HANDLE, **({"what": what} if what else {})}
    call = await world.discord.command("review", options, user=user, guild=world.guild, **kw)
    reply = await world.discord.next_reply(call, deadline=10)
    assert_inert(reply)
    return reply


async def press(
    world: World, message_id: int, custom_id: str, user: dict[str, Any], **kw: Any
) -> tuple[Interaction, Reply]:
    message = world.discord.messages[message_id]
    call = await world.discord.press(message, custom_id, user=user, guild=world.guild, **kw)
    reply = await world.discord.next_reply(call, deadline=10)
    assert_inert(reply)
    return call, reply


def button(reply: Reply, code: str) -> str:
    return next(c for c in reply.custom_ids if c.startswith(f"rv:{code}:"))


async def test_a_review_on_discord_with_a_restart_stop_and_results(world: World) -> None:
    populate(world.bsky)
    world.start_worker()
    await world.start_bot()
    names = [c["name"] for c in world.discord.commands[None]]
    assert "review" in names and "metrics" in names
    listed, member = world.discord.user(LISTED, "lis"), world.discord.user(5002, "member")
    admin = world.discord.user(5003, "admin")

    early = await review(world, listed)
    assert early.ephemeral and "run /audit" in early.content
    call = await world.discord.command("audit", {"handle": HANDLE}, user=listed, guild=world.guild)
    await world.final(call, deadline=30)

    refused = await review(world, member)
    assert refused.ephemeral and refused.content == escape_markdown(NOT_ALLOWED)
    assert refused.custom_ids == []

    card = await review(world, listed)
    assert card.ephemeral and position(card) == 1
    assert [c.split(":")[1] for c in card.custom_ids] == ["f", "g", "u", "s"]
    assert "](<https://bsky.app/profile/" in card.content  # the handle links to the profile
    assert "model gave" not in card.content
    first_line = card.content.split("\n")[0]
    card_id = int(card.message["id"]) if card.message else 0
    for at in range(1, 6):
        _, card = await press(world, card_id, button(card, "f" if "@bot" in card.content else "g"),
                              listed)  # fmt: skip
        assert card.callback_type == 7 and position(card) == at + 1
        assert "model gave it" in card.content

    # a member who may not label is refused on the buttons too; the card stays as it was
    _, no = await press(world, card_id, button(card, "f"), member)
    assert no.ephemeral and no.content == escape_markdown(NOT_ALLOWED)
    assert position(str(world.discord.messages[card_id]["content"])) == 6

    # an admin (Manage Server) joins the same draw
    joined = await review(world, admin, permissions=MANAGE_GUILD)
    assert position(joined) == 1 and joined.content.split("\n")[0] == first_line

    # restart: a new composition root and bot on the same Redis; the old card carries on
    await world.stop_bot()
    async with open_app(world.settings) as app:
        world.app = app
        await world.start_bot()
        _, card = await press(world, card_id, button(card, "g"), listed)
        assert position(card) == 7
        resumed = await review(world, listed)
        assert position(resumed) == 7
        _, stopped = await press(world, card_id, button(card, "s"), listed)
        assert stopped.callback_type == 7 and stopped.custom_ids == []
        stop_line = f"Stopped at 6 of 25; /review {HANDLE} carries on where you left off."
        assert stopped.content.startswith(escape_markdown(stop_line))
        assert "Wilson interval" in stopped.content and "The audit estimated" in stopped.content

        results = await review(world, member, "results")
        assert "6 of 25 drawn at random labelled by 1 reviewer" in results.content
        share = r"Reviewed fake share\\: \d+% \\\(\d+%\\-\d+%, 95% Wilson"
        assert re.search(share, results.content)
        bad = await review(world, listed, "500")
        assert bad.ephemeral and "from 1 to 100" in bad.content

        call = await world.discord.command("metrics", {}, user=member, guild=world.guild)
        metrics = await world.discord.next_reply(call, deadline=10)
        assert_inert(metrics)
        assert metrics.content.startswith("Model on bluesky labels \\(")
        await world.stop_bot()
