"""The platform-neutral review conversation (``bot.chat.review``) and the audited samples it
draws from (``bot.pipeline.samples``), on the real Redis: parsing, button data, who is asked
whether they admin the chat, and the stored samples' bounds and validation."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import bot.pipeline.samples as samples_module
from bot.chat.commands import CommandError
from bot.chat.review import (
    BUTTONS,
    ReviewCommand,
    ReviewDesk,
    parse_press,
    parse_review_args,
    press_data,
)
from bot.pipeline.samples import SampleError, SampleStore, ScoredSample
from bot.review import NOT_ALLOWED, Reviewer, ReviewError, ReviewService, ReviewStore
from bot.settings import ReviewSettings, Settings
from scoring.account import Account

SEEN = datetime(2026, 1, 1, tzinfo=UTC)


def follower(i: int) -> Account:
    return Account(
        platform="bluesky", id=f"did:plc:{i:04d}", handle=f"user{i}.bsky.social",
        display_name="<b>x</b> @everyone" if i == 0 else f"User {i}", bio="hi",
        created_at=SEEN - timedelta(days=10 + i), observed_at=SEEN, followers_count=i,
        extra={"raw": "x" * 20}, label=1, source="somewhere",
    )  # fmt: skip


def scored(n: int = 40, audit_id: str = "job-1") -> ScoredSample:
    return ScoredSample.of(
        platform="bluesky", handle="alice.bsky.social", audit_id=audit_id,
        model_version="fa-test", accounts=[follower(i) for i in range(n)],
        probabilities=[i / n for i in range(n)], fake_share=(0.3, 0.2, 0.4),
    )  # fmt: skip


def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


# ----------------------------------------------------------------------------- parsing
def test_review_words_parse_to_a_command() -> None:
    s = settings()
    assert parse_review_args(["bsky:alice.bsky.social"], s) == ReviewCommand(
        "bluesky", "alice.bsky.social", 25, False
    )
    assert parse_review_args(["@alice.bsky.social", "100"], s).n == 100
    assert parse_review_args(["bsky:alice.bsky.social", "Results"], s).results is True
    assert parse_review_args(["bsky:alice.bsky.social"], s).label == "bsky:alice.bsky.social"


@pytest.mark.parametrize(
    ("words", "says"),
    [
        ([], "Give a handle to review"),
        (["bsky:a.bsky.social", "0"], "from 1 to 100"),
        (["bsky:a.bsky.social", "101"], "from 1 to 100"),
        (["bsky:a.bsky.social", "lots"], "'lots' is not a number"),
        (["bsky:a.bsky.social", "5", "results"], "Use /review HANDLE [N]"),
        (["bsky:"], "/review bsky:alice.bsky.social 25"),
    ],
)
def test_bad_review_words_get_a_short_specific_answer(words: list[str], says: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_review_args(words, settings())
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_button_data_round_trips_and_fits_telegram() -> None:
    review_id = "0123456789abcdef01234567"
    for code, _caption in BUTTONS:
        data = press_data(code, review_id, 99)
        assert len(data.encode()) <= 64
        press = parse_press(data)
        assert press is not None and (press.code, press.index, press.review_id) == (
            code, 99, review_id,
        )  # fmt: skip
    scoped = parse_press(press_data("u", review_id, 99, -1001234567890123))
    assert scoped is not None and scoped.scope == -1001234567890123 and scoped.label == "unsure"
    assert len(press_data("u", review_id, 99, -1001234567890123).encode()) <= 64
    assert parse_press(press_data("f", review_id, 3)).label == "fake"  # type: ignore[union-attr]
    assert parse_press(press_data("s", review_id, 3)).label is None  # type: ignore[union-attr]
    for junk in (None, "", "m:abcd", "rv:x:1:" + review_id, "rv:f:1:" + review_id + "0",
                 "rv:f:1000:" + review_id, "rv:f:1:" + review_id.upper(),
                 "rv:f:1:" + review_id + ":123", "rv:f:1:" + review_id + ":-"):  # fmt: skip
        assert parse_press(junk) is None


# ----------------------------------------------------------------------------- samples
async def test_samples_are_kept_neutral_and_the_latest_is_found(redis: Any) -> None:
    store = SampleStore(redis, ttl=3600)
    assert await store.latest("bluesky", "alice.bsky.social") is None
    first, second = scored(audit_id="job-1"), scored(30, audit_id="job-2")
    assert await store.put(first) and await store.put(second)
    latest = await store.latest("bluesky", "alice.bsky.social")
    assert latest is not None and latest.audit_id == "job-2" and len(latest.accounts) == 30
    older = await store.get("job-1")
    assert older == first
    a = older.accounts[0]
    assert (a.extra, a.label, a.source) == ({}, None, None)  # neutral: nothing but the schema
    assert older.probabilities[3] == pytest.approx(3 / 40) and older.fake_share == (0.3, 0.2, 0.4)
    assert 0 < await redis.ttl("fa:sample:job-1") <= 3600
    assert 0 < await redis.ttl("fa:sample:latest:bluesky:alice.bsky.social") <= 3600


def test_a_large_audit_keeps_a_random_subset_of_bounded_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(samples_module, "MAX_SAMPLE_ACCOUNTS", 10)
    kept = scored(40)
    ids = [int(a.id.rsplit(":", 1)[1]) for a in kept.accounts]
    assert len(ids) == 10 and ids == sorted(ids) and ids != list(range(10))  # not the newest 10
    assert kept.probabilities == tuple(i / 40 for i in ids)
    assert scored(40) == kept  # seeded by the audit: the same subset every time


def test_stored_samples_are_validated() -> None:
    good = json.loads(scored(3).to_json())
    assert ScoredSample.from_json(json.dumps(good)) == scored(3)
    for change in (
        {"v": 2},
        {"probabilities": [0.1, 0.2]},
        {"probabilities": [0.1, 0.2, 1.5]},
        {"fake_share": [0.1, 0.2]},
        {"handle": ""},
        {"accounts": [{"platform": "bluesky"}] * 3},
    ):
        with pytest.raises(SampleError):
            ScoredSample.from_json(json.dumps({**good, **change}))
    with pytest.raises(SampleError):
        ScoredSample.from_json(b"\xff not json")


# ----------------------------------------------------------------------------- the desk
def desk(redis: Any, **options: Any) -> ReviewDesk:
    review = ReviewSettings(**{"reviewers": {"telegram": ["1"]}, **options})
    return ReviewDesk(ReviewService(ReviewStore(redis), review), SampleStore(redis))


def admin_answer(value: bool) -> tuple[list[int], Callable[[], Any]]:
    asked: list[int] = []

    async def check() -> bool:
        asked.append(1)
        return value

    return asked, check


async def test_the_desk_refuses_points_to_audit_opens_and_stops(redis: Any) -> None:
    d = desk(redis)
    command = parse_review_args(["bsky:alice.bsky.social", "5"], settings())
    listed, stranger, admin = (Reviewer("telegram", u) for u in ("1", "2", "3"))
    asked, no = admin_answer(False)
    with pytest.raises(ReviewError) as refused:
        await d.open(command, stranger, no)
    assert refused.value.message == NOT_ALLOWED and asked == [1]
    asked, yes = admin_answer(True)
    with pytest.raises(ReviewError) as none_yet:
        await d.open(command, listed, yes)
    assert "run /audit bsky:alice.bsky.social first" in none_yet.value.message
    assert asked == []  # a reviewer named in the settings costs no platform call

    await d.samples.put(scored(40))
    card = await d.open(command, listed, yes)
    assert card.heading == "1 of 5" and card.handle.startswith("@user")
    assert card.url is not None and card.url.startswith("https://bsky.app/profile/user")
    assert not any("%" in line for line in card.lines)  # the score stays hidden
    joined = await d.open(command, admin, yes)
    assert (joined.handle, joined.index) == (card.handle, 0)  # the same draw for everyone

    press = parse_press(press_data("g", card.review_id, 0))
    assert press is not None
    answered = await d.press(press, listed, no)
    assert answered.answer is not None and "the model gave it" in answered.answer
    assert answered.card is not None and answered.card.heading == "2 of 5"
    stop = parse_press(press_data("s", card.review_id, 1))
    assert stop is not None
    stopped = await d.press(stop, listed, no)
    assert stopped.stopped and stopped.card is None and stopped.results is not None
    assert stopped.results.startswith(
        "Stopped at 1 of 5; /review bsky:alice.bsky.social carries on where you left off."
    )
    assert "1 of 5 drawn at random labelled by 1 reviewer" in await d.results(command)
    assert (await d.metrics()).startswith("Model on bluesky labels (0 fake, 1 genuine)")


async def test_the_last_press_gives_the_results_and_a_finished_review_says_so(
    redis: Any,
) -> None:
    d = desk(redis)
    _, no = admin_answer(False)
    listed = Reviewer("telegram", "1")
    command = parse_review_args(["bsky:alice.bsky.social", "2"], settings())
    with pytest.raises(ReviewError) as nothing:
        await d.results(command)
    assert "No review of bsky:alice.bsky.social yet" in nothing.value.message
    assert (await d.metrics()).startswith("No labels yet")
    await d.samples.put(scored(10))
    card = await d.open(command, listed, no)
    result = None
    for index in range(2):
        press = parse_press(press_data("f", card.review_id, index))
        assert press is not None
        result = await d.press(press, listed, no)
    assert result is not None and result.card is None and result.results is not None
    assert "Reviewed fake share: 100%" in result.results and "2 of 2 done" in str(result.answer)
    with pytest.raises(ReviewError) as done:
        await d.open(command, listed, no)
    assert "labelled all 2 followers" in done.value.message
