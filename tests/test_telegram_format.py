"""Telegram HTML escaping and splitting, checked with the fake Bot API's own HTML parser."""

from __future__ import annotations

import random

import pytest

from bot.telegram.format import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    escape,
    link,
    split_caption,
    split_html,
    truncate_html,
    utf16_len,
)
from tests.fakes.telegram_api import TelegramApiError, html_visible_text

HOSTILE = 'Eve <b>&amp; "co" @everyone </a><script>x</script> & 😀'


def random_markup(rng: random.Random, size: int) -> str:
    """Valid Telegram HTML: escaped hostile text, nested tags, links, emoji, newlines."""
    words = ["alpha", "b&c", "<tag>", "😀", "é", "x" * 90, "\n", "\n\n", " ", "@name"]
    out: list[str] = []
    open_tags: list[str] = []
    while len("".join(out)) < size:
        roll = rng.random()
        if roll < 0.12 and len(open_tags) < 3:
            tag = rng.choice(["b", "i", "u", "code", "a"])
            out.append(
                '<a href="https://bsky.app/profile/x?a=1&amp;b=2">' if tag == "a" else f"<{tag}>"
            )
            open_tags.append(tag)
        elif roll < 0.22 and open_tags:
            out.append(f"</{open_tags.pop()}>")
        else:
            out.append(escape(rng.choice(words)) + " ")
    out.extend(f"</{tag}>" for tag in reversed(open_tags))
    return "".join(out)


def test_escape_makes_hostile_text_literal() -> None:
    shown = html_visible_text(f"<b>{escape(HOSTILE)}</b>")
    assert shown == HOSTILE


def test_link_escapes_label_and_url_and_refuses_other_schemes() -> None:
    markup = link('https://bsky.app/profile/a?x=1&y="2"', "<b>me</b>")
    assert html_visible_text(markup) == "<b>me</b>"
    assert 'href="https://bsky.app/profile/a?x=1&amp;y=&quot;2&quot;"' in markup
    assert link("javascript:alert(1)", "me") == "me"


def test_short_message_is_one_unchanged_part() -> None:
    assert split_html("<b>hi</b> there") == ["<b>hi</b> there"]


@pytest.mark.parametrize("limit", [64, 100, 333, CAPTION_LIMIT, MESSAGE_LIMIT])
@pytest.mark.parametrize("seed", range(8))
def test_split_parts_are_valid_within_limit_and_lose_nothing(limit: int, seed: int) -> None:
    rng = random.Random(seed)
    markup = random_markup(rng, rng.choice([50, 900, 5000, 20000]))
    parts = split_html(markup, limit)
    for part in parts:
        assert utf16_len(part) <= limit
        assert html_visible_text(part).strip()  # raises like the Bot API on broken markup
    # Every visible character arrives, in order; a part of only whitespace may go (Telegram
    # refuses empty messages, and each part is its own bubble).
    joined = "".join(html_visible_text(p) for p in parts)
    assert "".join(joined.split()) == "".join(html_visible_text(markup).split())


def test_split_prefers_newlines_and_reopens_tags() -> None:
    lines = [f"<b>{i:03d}</b> {escape('@handle & co')} account line" for i in range(200)]
    parts = split_html("<i>" + "\n".join(lines) + "</i>", 1000)
    assert len(parts) > 1
    for part in parts[:-1]:
        assert part.startswith("<i>") and part.endswith("\n</i>")


def test_emoji_count_two_utf16_units() -> None:
    parts = split_html("😀" * 100, 64)
    assert all(utf16_len(p) <= 64 for p in parts)
    assert "".join(parts) == "😀" * 100


def test_unbalanced_input_is_repaired_not_rejected() -> None:
    parts = split_html("a < b & c </u> <b>x<i>y</b>z</i> <b>open", 100)
    assert parts == ["a &lt; b &amp; c  <b>x<i>y</i></b><i>z</i> <b>open</b>"]
    html_visible_text(parts[0])


def test_truncate_and_caption() -> None:
    markup = "<b>" + escape("line & more\n") * 500 + "</b>"
    short = truncate_html(markup, CAPTION_LIMIT)
    assert utf16_len(short) <= CAPTION_LIMIT and short.endswith("…</b>")
    html_visible_text(short)
    caption, rest = split_caption(markup)
    assert utf16_len(caption) <= CAPTION_LIMIT
    assert all(utf16_len(p) <= MESSAGE_LIMIT for p in rest)
    shown = html_visible_text(caption) + "".join(html_visible_text(p) for p in rest)
    assert shown == html_visible_text(markup)
    assert split_caption("<b>short</b>") == ("<b>short</b>", [])


def test_max_parts_bounds_output() -> None:
    parts = split_html(escape("word ") * 10000, MESSAGE_LIMIT, max_parts=3)
    assert len(parts) == 3 and parts[-1].endswith("…")
    assert all(utf16_len(p) <= MESSAGE_LIMIT for p in parts)


def test_too_small_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        split_html("x", 10)


def test_checker_would_catch_a_naive_cut() -> None:
    naive = ("<b>" + "x" * 5000 + "</b>")[:MESSAGE_LIMIT]
    with pytest.raises(TelegramApiError):
        html_visible_text(naive)
