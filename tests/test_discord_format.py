"""Discord Markdown escaping and embed trimming, checked against the fake's limit validator."""

from __future__ import annotations

import random
import re

import pytest

from bot.discord.format import (
    EMBED_LIMITS,
    ZWSP,
    allowed_mentions_none,
    embed_size,
    escape_markdown,
    fit_embed,
    fit_embeds,
    masked_link,
    truncate,
)
from tests.fakes.discord_api import DiscordApiError, check_message_limits

HOSTILE = [
    "**bold** __under__ *it* _it_ `code` ```block``` ~~strike~~ ||spoiler||",
    "> quote\n>>> block quote\n# Heading\n-# subtext\n- item\n1. first",
    "[paypal.com](http://evil.example/login) and [x](<http://e>)",
    "@everyone @here @EveryOne <@123> <@!456> <@&789> <#111> </audit:222> <:e:333> <t:1:R>",
    "back\\slash\\*still* and trailing\\",
]
_UNESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")


def shown(markdown: str) -> str:
    """What Discord shows for escaped text: a backslash before punctuation disappears."""
    return _UNESCAPE.sub(r"\1", markdown).replace(ZWSP, "")


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_text_shows_verbatim(text: str) -> None:
    assert shown(escape_markdown(text)) == text


@pytest.mark.parametrize("text", HOSTILE)
def test_no_markdown_control_character_survives_unescaped(text: str) -> None:
    escaped = escape_markdown(text)
    for match in re.finditer(r"[*_`~|>\[\]()<#:\-\\]", escaped):
        backslashes = len(escaped[: match.start()]) - len(escaped[: match.start()].rstrip("\\"))
        if match.group() == "\\":
            continue
        assert backslashes % 2 == 1, (text, escaped, match.start())
    assert not re.search(r"@(everyone|here)", escaped, re.IGNORECASE)
    assert "<@" not in escaped.replace("\\<@", "")


def test_platform_text_with_a_limit_is_one_clean_bounded_line() -> None:
    """Names and handles in alerts and answers: cleaned as every chat cleans them, then escaped."""
    escaped = escape_markdown("a\u202eb\n@everyone **" + "x" * 200, 40)
    assert "\u202e" not in escaped and "\n" not in escaped
    assert shown(escaped) == "a b @everyone **" + "x" * 23 + "…"  # 40 characters
    assert escape_markdown("1. first") == escape_markdown("1. first", 80)


def test_numbered_list_is_neutralised() -> None:
    assert escape_markdown("1. first\n 22. second") == "1\\. first\n 22\\. second"


def test_masked_link_escapes_label_and_encodes_url() -> None:
    link = masked_link("**me** [x](y)", "https://bsky.app/profile/me(x)>")
    assert link == (
        "[\\*\\*me\\*\\* \\[x\\]\\(y\\)](<https\\://bsky.app/profile/me%28x%29%3E>)".replace(
            "https\\://", "https://"
        )
    )
    assert masked_link("me", "javascript:alert(1)") == "me"


def test_allowed_mentions_none_is_a_fresh_empty_parse() -> None:
    first = allowed_mentions_none()
    first["parse"].append("everyone")
    assert allowed_mentions_none() == {"parse": []}


def test_truncate_keeps_lines_and_escapes_whole() -> None:
    lines = "\n".join(f"line {i}" for i in range(100))
    cut = truncate(lines, 100)
    assert len(cut) <= 100 and cut.endswith("\n…")
    assert truncate("ab\\*cd", 4) == "ab…"  # no dangling backslash before the ellipsis
    assert truncate("short", 10) == "short"
    assert truncate("abcdef", 1) == "…"


def random_embed(rng: random.Random) -> dict[str, object]:
    def text(n: int) -> str:
        return "".join(rng.choice("ab \n*_@") for _ in range(rng.randint(0, n)))

    embed: dict[str, object] = {
        "title": text(400),
        "description": text(9000),
        "color": 0x2ECC71,
        "fields": [
            {"name": text(400), "value": text(1500), "inline": True}
            for _ in range(rng.randint(0, 40))
        ],
        "footer": {"text": text(3000)},
        "author": {"name": text(400)},
        "image": {"url": "attachment://chart.png"},
    }
    return embed


@pytest.mark.parametrize("seed", range(25))
def test_fit_embed_always_passes_discords_limits(seed: int) -> None:
    rng = random.Random(seed)
    embed = random_embed(rng)
    fitted = fit_embed(embed)
    check_message_limits({"embeds": [fitted]})
    assert embed_size(fitted) <= EMBED_LIMITS["total"]
    assert fitted["image"] == {"url": "attachment://chart.png"}
    assert fitted["color"] == 0x2ECC71


def test_fit_embed_trims_description_before_dropping_fields_and_keeps_title() -> None:
    embed = {
        "title": "Grade D",
        "description": "d" * 4096,
        "fields": [{"name": f"f{i}", "value": "v" * 500} for i in range(10)],
        "footer": {"text": "model v1"},
    }
    fitted = fit_embed(embed)
    assert fitted["title"] == "Grade D" and fitted["footer"] == {"text": "model v1"}
    assert len(fitted["fields"]) == 10
    assert embed_size(fitted) <= 6000 and fitted["description"].endswith("…")


def test_fit_embed_fills_empty_fields_and_caps_count() -> None:
    fitted = fit_embed({"fields": [{"name": "", "value": ""}] * 30})
    assert len(fitted["fields"]) == 25
    assert fitted["fields"][0] == {"name": ZWSP, "value": ZWSP}
    check_message_limits({"embeds": [fitted]})


def test_fit_embeds_share_the_total() -> None:
    embeds = [{"description": "x" * 4000} for _ in range(12)]
    fitted = fit_embeds(embeds)
    assert len(fitted) <= 10
    check_message_limits({"embeds": fitted})
    assert fitted[0]["description"] == "x" * 4000


def test_validator_rejects_untrimmed() -> None:
    with pytest.raises(DiscordApiError):
        check_message_limits({"embeds": [{"description": "x" * 4097}]})
