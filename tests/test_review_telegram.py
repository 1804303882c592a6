"""End to end on the fake Bot API with the real pipeline (issue 18): a group audits alice, then
reviews 25 of her followers drawn at random with the Fake / Genuine / Can't tell / Stop buttons.
One reviewer is named in the settings, one is a group admin, one is neither and is refused; the
bot restarts mid-review (a new composition root on the same Redis) and carries on where it
stopped; the results show the reviewed share with its Wilson interval beside the audit's; and
``followaudit labels export`` gives exactly the labelled accounts. No sleeps: every wait is a
deadline on the fake's events.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import open_app
from bot.cli import main
from bot.review import NOT_ALLOWED
from bot.settings import Settings
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.telegram_api import FakeTelegram
from tests.test_telegram_bot import World, final_report, first_reply, telegram_settings

HOSTILE = "<b>Boss</b> & @everyone"
LISTED, MALLORY, ADMIN = 2001, 2002, 2003
GROUP = -100700
HANDLE = "bsky:alice.bsky.social"


def fill(bsky: FakeBluesky) -> None:
    """alice: 80 genuine-looking followers and 40 bots whose names and bios are hostile markup."""
    alice = bsky.add_account("alice.bsky.social", displayName="Alice")
    bsky.add_followers(alice, 80, prefix="real", postsCount=40, createdAt="2021-03-01T00:00:00Z")
    bsky.add_followers(
        alice, 40, prefix="bot", avatar=None, description="<i>buy</i> @here", postsCount=0,
        followsCount=4800, displayName=HOSTILE, createdAt="2026-11-01T00:00:00Z",
    )  # fmt: skip


def review_settings(make: Callable[..., Settings], tg: FakeTelegram, bsky_url: str) -> Settings:
    base = telegram_settings(make, tg, bsky_url)
    return base.model_copy(
        update={"review": base.review.model_copy(update={"reviewers": {"telegram": [str(LISTED)]}})}
    )


@pytest.fixture
async def world(
    monkeypatch: pytest.MonkeyPatch, redis: Any, make_settings: Callable[..., Settings]
) -> AsyncIterator[World]:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    async with FakeTelegram() as tg, FakeBluesky() as bsky:
        fill(bsky)
        async with open_app(review_settings(make_settings, tg, bsky.base_url)) as app:
            w = World(tg, bsky, redis, app)
            await w.start_worker()
            await w.start_bot()
            try:
                yield w
            finally:
                await w.stop()


def buttons(message: dict[str, Any]) -> dict[str, str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def position(message: dict[str, Any]) -> int | None:
    """The 1-based position the card shows ("7 of 25"), None when it shows none."""
    found = re.search(r"^(\d+) of 25:", str(message.get("text") or ""), re.MULTILINE)
    return int(found.group(1)) if found else None


def verdict(message: dict[str, Any]) -> str:
    """What a reviewer who reads the card answers: the bots are fake, the rest genuine."""
    text = str(message.get("text") or "")
    return "Fake" if re.search(r"^\d+ of 25: @bot", text, re.MULTILINE) else "Genuine"


Chat = dict[str, Any]


async def press(
    tg: FakeTelegram, chat: Chat, user: dict[str, Any], message_id: int, caption: str
) -> dict[str, Any]:
    """Press ``caption`` on the card and wait for the card to change; the message after."""
    chat_id = int(chat["id"])
    before = str(tg.message(chat_id, message_id).get("text"))
    data = buttons(tg.message(chat_id, message_id))[caption]
    update = tg.inject_callback(chat, user, message_id, data)
    answer = await tg.next_callback_answer(update["callback_query"]["id"], deadline=10)
    assert "text" not in answer, answer
    await tg.wait_for(lambda: tg.message(chat_id, message_id).get("text") != before, 10)
    return dict(tg.message(chat_id, message_id))


async def command(tg: FakeTelegram, chat: Chat, user: dict[str, Any], text: str) -> Chat:
    """Send a command in ``chat``; the bot's next new message there."""
    tg.inject_command(chat, user, text)
    sent = await tg.next_sent(int(chat["id"]), methods={"sendMessage"}, deadline=10)
    return tg.message(int(chat["id"]), sent.message_id)


def head(message: dict[str, Any]) -> str:
    """The card's first line: position and handle."""
    return str(message.get("text") or "").split("\n")[0]


def check_card(card: dict[str, Any]) -> None:
    """Score hidden, handle linked to the profile, platform strings escaped."""
    text = str(card.get("text") or "")
    assert "model gave" not in text.split("\n\n")[-1]
    links = [e["url"] for e in card.get("entities", []) if e["type"] == "text_link"]
    assert len(links) == 1 and links[0].startswith("https://bsky.app/profile/"), links
    assert "followers" in text and "age" in text and "avatar:" in text and "banner:" in text
    marked = [text[e["offset"] : e["offset"] + e["length"]] for e in card.get("entities", [])
              if e["type"] != "text_link"]  # fmt: skip
    assert all(re.fullmatch(r"\d+ of 25", m) for m in marked), marked  # only the heading is bold
    if re.search(r"^\d+ of 25: @bot", text, re.MULTILINE):
        assert "name: <b>Boss</b> & @\u200beveryone" in text  # literal, the mention broken
        assert "bio: <i>buy</i> @\u200bhere" in text


async def test_a_review_in_a_group_with_a_restart_results_and_export(
    world: World,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tg = world.tg
    tg.set_admins(GROUP, [ADMIN])
    listed = tg.user(LISTED, "Lis")
    mallory = tg.user(MALLORY, "Mallory")
    admin = tg.user(ADMIN, "Ada")

    # before any audit: a one-line pointer to /audit; bad input: a short specific answer
    # the named reviewer labels in a private chat with the bot; the group admin and the refused
    # member ask in the group
    mine, group = tg.private_chat(listed), tg.group_chat(GROUP, "Team")
    none_yet = await command(tg, mine, listed, f"/review {HANDLE}")
    assert none_yet["text"] == f"No audit of {HANDLE} to review yet: run /audit {HANDLE} first."
    too_many = await command(tg, mine, listed, f"/review {HANDLE} 101")
    assert "from 1 to 100" in too_many["text"]
    markup = await command(tg, mine, listed, f"/review {HANDLE} <b>x</b>")
    assert markup["text"].startswith("'<b>x</b>' is not a number") and "entities" not in markup

    tg.inject_command(group, admin, f"/audit {HANDLE}")
    first = await first_reply(tg, GROUP)
    report = await final_report(tg, GROUP, first.message_id)
    assert "Grade" in report["text"]
    await tg.next_sent(GROUP, methods={"sendPhoto"}, deadline=10)

    # someone neither named nor an admin is refused, in one line
    refused = await command(tg, group, mallory, f"/review {HANDLE}")
    assert refused["text"] == NOT_ALLOWED and "reply_markup" not in refused

    card = await command(tg, mine, listed, f"/review {HANDLE}")
    card_id = int(card["message_id"])
    first_head = head(card)
    assert position(card) == 1
    assert list(buttons(card)) == ["Fake", "Genuine", "Can't tell", "Stop"]
    assert all(len(d.encode()) <= 64 for d in buttons(card).values())
    check_card(card)
    answers: dict[int, str] = {}
    for _ in range(10):
        at = position(card)
        assert at is not None
        choice = "Can't tell" if at == 5 else verdict(card)
        answers[at] = choice
        card = await press(tg, mine, listed, card_id, choice)
        assert position(card) == at + 1
        assert "model gave it" in card["text"].split("\n\n")[0]  # the score, once answered
        check_card(card)

    # a restart mid-review: a new process (composition root, adapter) on the same Redis
    async with world.bot_with(review_settings(make_settings, tg, world.bsky.base_url)):
        # the old card's buttons still work, from where the reviewer stopped
        choice = verdict(card)
        answers[11] = choice
        card = await press(tg, mine, listed, card_id, choice)
        assert position(card) == 12
        # and /review again resumes there too (nothing lost)
        resumed = await command(tg, mine, listed, f"/review {HANDLE}")
        assert position(resumed) == 12
        card, card_id = resumed, int(resumed["message_id"])
        while position(card) is not None:
            at = position(card)
            assert at is not None
            answers[at] = verdict(card)
            card = await press(tg, mine, listed, card_id, answers[at])
        done = card["text"]
        assert "25 of 25 done" in done and "reply_markup" not in card
        assert "Reviewed fake share:" in done and "95% Wilson interval" in done
        assert "The audit estimated" in done and ("They agree" in done or "They disagree" in done)

        # a group admin (not named in the settings) joins the same draw from the group; the card
        # goes to their private chat (a group's 20 messages a minute would hold every press)
        note = await command(tg, group, admin, f"/review {HANDLE}")
        assert note["text"] == "I sent you the followers to label in our private chat."
        theirs = tg.private_chat(admin)
        sent = await tg.next_sent(ADMIN, methods={"sendMessage"}, deadline=10)
        joined = tg.message(ADMIN, sent.message_id)
        assert position(joined) == 1 and head(joined) == first_head
        assert all(d.endswith(f":{GROUP}") for d in buttons(joined).values())  # the group decides
        jid = int(joined["message_id"])
        # someone who is not an admin of that group gets nothing from those buttons
        update = tg.inject_callback(theirs, mallory, jid, buttons(joined)["Fake"])
        answer = await tg.next_callback_answer(update["callback_query"]["id"], deadline=10)
        assert answer.get("text") == NOT_ALLOWED and answer.get("show_alert") is True
        assert tg.message(ADMIN, jid)["text"] == joined["text"]
        # the admin labels three as the named reviewer did, then stops
        for at in (1, 2, 3):
            joined = await press(tg, theirs, admin, jid, answers[at])
        stopped = await press(tg, theirs, admin, jid, "Stop")
        assert stopped["text"].startswith(f"Stopped at 3 of 25; /review {HANDLE} carries on")
        assert "reply_markup" not in stopped
        # without a private chat (the admin never started the bot) the card stays in the group
        refusal = "Forbidden: bot can't initiate conversation with a user"
        tg.fail_next("sendMessage", error_code=403, retry_after=None, description=refusal)
        in_group = await command(tg, group, admin, f"/review {HANDLE}")
        assert position(in_group) == 4
        assert not any(d.endswith(f":{GROUP}") for d in buttons(in_group).values())

        results = await command(tg, group, mallory, f"/review {HANDLE} results")
        assert "25 of 25 drawn at random labelled by 2 reviewers" in results["text"]
        assert re.search(r"Reviewed fake share: \d+% \(\d+%-\d+%, 95% Wilson", results["text"])
        metrics = await command(tg, group, mallory, "/metrics")
        assert metrics["text"].startswith("Model on bluesky labels (")

    # the export gives exactly the labelled accounts: fake or genuine, reviewers agreeing
    monkeypatch.setenv("FOLLOWAUDIT_REDIS_URL", world.settings.redis_url)
    out = tmp_path / "labels.jsonl"
    assert await asyncio.to_thread(main, ["labels", "export", "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    # position 5 was "Can't tell" for the listed reviewer and "Genuine" for nobody (the admin
    # stopped at 3), so it is left out; every other position is one account with its label
    expected = {at: c for at, c in answers.items() if c != "Can't tell"}
    assert len(rows) == len(expected) == 24
    by_handle = {r["handle"]: r["label"] for r in rows}
    assert all(r["source"] == "review/bluesky" for r in rows)
    assert {h: v for h, v in by_handle.items() if h.startswith("bot")} == {
        h: 1 for h in by_handle if h.startswith("bot")
    }
    assert all(v == 0 for h, v in by_handle.items() if h.startswith("real"))
    assert sum(by_handle.values()) == sum(c == "Fake" for c in expected.values())
