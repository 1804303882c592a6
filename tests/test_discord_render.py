"""The Discord adapter's pure parts: embeds within limits whatever the report holds, escaping,
button pages, CSV, the conversation reference, autocomplete suggestions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.discord.commands import handle_choices
from bot.discord.conversation import Conversation, ConversationError
from bot.discord.format import ZWSP
from bot.discord.render import (
    GRADE_COLOURS,
    breakdown_embed,
    more_text,
    progress_text,
    report_embed,
)
from bot.pipeline.messages import Progress
from bot.pipeline.report import Report
from bot.settings import Settings
from tests.fakes.discord_api import check_message_limits
from tests.reports import make_report, report_dict

EVIL = "**x** @everyone [a](https://evil.example) <@1> `code` ||spoiler|| # head"


def account(n: int, p: float = 0.9, name: str = EVIL) -> dict[str, Any]:
    return {
        "platform": "bluesky",
        "id": f"did:plc:{n:024d}",
        "handle": f"b{n}.test",
        "fake_probability": p,
        "reasons": [EVIL * 3, "no posts", "=HYPERLINK(1)"],
        "reason_codes": ["no_posts"],
        "position": n,
        "display_name": name * 4,
    }


def verdict(n: int, p: float) -> dict[str, Any]:
    row = account(n)
    return {"id": row["id"], "platform": "bluesky", "handle": row["handle"], "p": p,
            "reasons": row["reasons"]}  # fmt: skip


def huge_report() -> Report:
    return Report.from_dict(huge_report_dict())


def huge_report_dict() -> dict[str, Any]:
    """As long as every string and list of a report may be (verdict and names of 4,096)."""
    return report_dict(**{
        "grade": "F",
        "verdict": (EVIL * 60)[:4096],
        "fake_share": {"estimate": 0.61, "low": 0.55, "high": 0.67, "method": "mixture" * 50},
        "inactive": {"share": 0.2, "low": 0.1, "high": 0.3, "count": 5, "known": 40, "days": 90},
        "sample": {"size": 1000, "total": 48210, "order": "newest"},
        "bursts": [
            {
                "start": i,
                "end": i + 40,
                "fake_share": 0.9,
                "fake_share_low": 0.8,
                "fake_share_high": 0.95,
                "created_from": "2026-01-01T00:00:00Z",
                "created_to": "2026-01-02T00:00:00Z",
                "kind": "fakes",
            }
            for i in range(40)
        ],
        "suspicious": [account(n) for n in range(25)],
        "verdicts": [verdict(n, 0.9 if n % 2 else 0.1) for n in range(300)],
        "flagged": 150,
        "reason_counts": {EVIL + str(n): 100 - n for n in range(80)},
        "model_version": "fa-test-1" * 300,
        "subject": {"platform": "bluesky", "handle": "alice.bsky.social", "display_name": EVIL},
    })  # fmt: skip


def test_report_embed_stays_within_every_limit_and_escapes() -> None:
    embed = report_embed(huge_report(), chart=True)
    check_message_limits({"embeds": [embed]})
    assert embed["title"] == "Grade F · @alice.bsky.social"
    assert embed["color"] == 0xE74C3C
    assert embed["image"] == {"url": "attachment://chart.png"}
    text = json.dumps(embed, ensure_ascii=False)
    assert "@everyone" not in text and f"@{ZWSP}everyone" in text
    assert "**x**" not in text and "](https://evil" not in text


def test_report_embed_of_an_empty_audit_has_no_grade() -> None:
    empty = {"size": 0, "total": None, "order": "newest_first", "of": None}
    report = make_report(grade=None, grade_range=None, verdict="No followers to audit",
                         sample=empty, subject=None)  # fmt: skip
    embed = report_embed(report, chart=False)
    assert embed["title"].startswith("No grade") and "image" not in embed
    check_message_limits({"embeds": [embed]})


def test_an_inconclusive_report_is_titled_with_its_grade_range() -> None:
    report = {**huge_report_dict(), "grade": None, "grade_range": ["B", "F"]}
    embed = report_embed(Report.from_dict(report), chart=False)
    # markdown-escaped like every title (Discord shows "\(" as "(")
    assert embed["title"].replace("\\", "") == "Grade B–F (inconclusive) · @alice.bsky.social"
    assert embed["color"] not in GRADE_COLOURS.values()
    check_message_limits({"embeds": [embed]})


def test_progress_lines_never_state_a_grade() -> None:
    line = progress_text("@a.test", Progress("fetching", 400, 1000))
    assert line == "⏳ Auditing @a.test: fetching 400 of 1,000 followers…"


def test_more_pages_fit_one_message_and_say_how_many_they_show() -> None:
    rows = huge_report().accounts
    assert len(rows) == 25
    text, shown = more_text("@alice.bsky.social", rows[5:15], 5, len(rows))
    assert len(text) <= 2000 and 1 <= shown <= 10
    assert text.count("\n• ") == shown
    assert text.startswith(f"Suspicious accounts 6–{5 + shown} of 25 kept")
    assert more_text("@a", [], 25, 25) == ("No more suspicious accounts in the audit of @a.", 0)


def test_breakdown_embed_is_bounded() -> None:
    embed = breakdown_embed("@a", huge_report().reasons(), 150, 1000)
    check_message_limits({"embeds": [embed]})
    assert embed["footer"]["text"].startswith("150 flagged of 1,000 sampled")
    assert embed["description"].count("\n") < 80


def test_conversation_round_trip_and_validation() -> None:
    conv = Conversation(1, "tok", 2, 1000.0, guild_id=3, user_id=4)
    assert Conversation.from_dict(conv.to_dict()) == conv
    assert conv.token_alive(900.0) and not conv.token_alive(995.0)
    for broken in ({}, {**conv.to_dict(), "channel_id": "x"}, {**conv.to_dict(), "token": 5}):
        with pytest.raises(ConversationError):
            Conversation.from_dict(broken)


def test_autocomplete_suggests_the_normal_form_recent_audits_and_the_forms() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    typed = handle_choices("https://bsky.app/profile/Bob.test", ["bsky:bob.test"], settings)
    assert [c.value for c in typed] == ["bsky:bob.test"]
    assert typed[0].name == "bsky:bob.test (Bluesky)"
    recent = handle_choices("ali", ["bsky:alice.bsky.social", "x:jack"], settings)
    assert [c.value for c in recent] == ["bsky:ali.bsky.social", "bsky:alice.bsky.social"]
    forms = handle_choices("", ["x:jack"], settings)
    assert forms[0].value == "x:jack" and len(forms) == 5
    bad = handle_choices("no spaces allowed", [], settings)
    assert bad[0].name.startswith("Not a handle yet")


def test_report_embed_footer_names_a_validation_view_other_than_full_records() -> None:
    def footer(view: str | None) -> str:
        share = {"estimate": 0.2, "low": 0.1, "high": 0.3, "method": "mixture-mle", "view": view}
        embed = report_embed(make_report(fake_share=share, model_version="fa-1"), chart=False)
        return str(embed["footer"]["text"])

    assert footer("bluesky") == ("Model fa-1 · estimate by mixture-mle (bluesky view)")
    assert footer("full") == footer(None) == "Model fa-1 · estimate by mixture-mle"
