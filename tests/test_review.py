"""Reviews on the real Redis: the shared draw, labels per reviewer, who may label, rate limits,
bounds, resuming after a redis-server restart, results, and what goes out to training."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.infra.redis_server import RedisServer
from bot.review import (
    NOT_ALLOWED,
    AuditedSample,
    NotAllowed,
    RateLimited,
    Reviewer,
    ReviewError,
    ReviewService,
    ReviewSession,
    ReviewStore,
    StoredError,
    export_rows,
    render_account,
    render_answer,
    render_results,
)
from bot.review.records import LabelRecord, drawn
from bot.settings import ReviewSettings, Settings
from scoring.account import Account
from scoring.audit.inactive import wilson_interval
from tests.helpers import FakeClock

SEEN = datetime(2026, 1, 1, tzinfo=UTC)
ALICE = Reviewer("telegram", "111")
BOB = Reviewer("discord", "222")
MALLORY = Reviewer("telegram", "999")


def follower(i: int, platform: str = "bluesky") -> Account:
    return Account(
        platform=platform,
        id=f"did:plc:{i:04d}",
        handle=f"user{i}.bsky.social",
        display_name=f"User {i}",
        bio="hello",
        created_at=SEEN - timedelta(days=30 + i),
        observed_at=SEEN,
        followers_count=i,
        following_count=100,
        posts_count=3 * i,
        has_default_avatar=i % 2 == 0,
        has_banner=i % 3 == 0,
        extra={"platform_only": "x" * 50},
    )


def sample(n: int = 60, audit_id: str = "job-1", handle: str = "someone.bsky.social"):
    """An audited sample sorted by score (the draw must not care)."""
    return AuditedSample(
        platform="bluesky",
        handle=handle,
        audit_id=audit_id,
        model_version="fa-test-1",
        accounts=[follower(i) for i in range(n)],
        probabilities=[i / n for i in range(n)],
        fake_share=(0.3, 0.2, 0.4),
    )


def service(redis: Any, clock: FakeClock | None = None, **settings: Any) -> ReviewService:
    options: dict[str, Any] = {"reviewers": {"telegram": [111], "discord": ["222"]}, **settings}
    return ReviewService(ReviewStore(redis), ReviewSettings(**options), clock=clock or FakeClock())


async def test_review_draws_at_random_and_reviewers_share_the_draw(redis: Any) -> None:
    svc = service(redis)
    s = sample()
    step = await svc.start(s, ALICE, is_admin=False)
    assert (step.position, step.total) == (0, 25)
    ids = [a.account.id for a in step.session.accounts]
    assert len(set(ids)) == 25
    probs = [a.probability for a in step.session.accounts]
    assert probs != sorted(probs) and probs != sorted(probs, reverse=True)
    # kept as seen, neutral: no platform extras
    assert step.session.accounts[0].account.extra == {}
    assert step.item is not None and step.item.account.handle is not None
    # a second reviewer on another platform, and a later call asking for more, get the same draw
    other = await svc.start(s, BOB, is_admin=False, n=50)
    assert [a.account.id for a in other.session.accounts] == ids
    latest = await svc.latest("bluesky", "someone.bsky.social")
    assert latest is not None and latest.review_id == step.session.review_id


async def test_who_may_label(redis: Any) -> None:
    svc = service(redis)
    s = sample()
    with pytest.raises(NotAllowed) as refused:
        await svc.start(s, MALLORY, is_admin=False)
    assert refused.value.message == NOT_ALLOWED and "\n" not in NOT_ALLOWED
    step = await svc.start(s, MALLORY, is_admin=True)  # an admin of the chat may
    review_id = step.session.review_id
    with pytest.raises(NotAllowed):
        await svc.answer(review_id, MALLORY, 0, "fake", is_admin=False)
    assert await svc.store.labels(review_id) == []
    # ids are per chat platform: Alice's Telegram id is nobody on Discord
    assert not svc.may_review(Reviewer("discord", "111"), is_admin=False)
    with pytest.raises(ReviewError, match="1 to 100"):
        await svc.start(s, ALICE, is_admin=False, n=101)


async def test_labels_resume_across_a_redis_restart(redis: Any, redis_server: RedisServer) -> None:
    clock = FakeClock()
    svc = service(redis, clock)
    step = await svc.start(sample(), ALICE, is_admin=False)
    review_id = step.session.review_id
    for i in range(5):
        answered = await svc.answer(review_id, ALICE, i, "fake" if i < 2 else "genuine",
                                    is_admin=False)  # fmt: skip
        clock.advance(1)
    assert answered.step.position == 5
    assert answered.probability == step.session.accounts[4].probability
    assert "the model gave it" in render_answer(answered)
    redis_server.restart()
    # a new process after the restart: a new service on the same Redis
    again = await service(redis, clock).resume(review_id, ALICE, is_admin=False)
    assert again.position == 5 and again.session == step.session
    assert again.item == step.session.accounts[5]
    labels = await svc.store.labels(review_id)
    assert [(r.index, r.label) for r in labels] == [
        (0, "fake"), (1, "fake"), (2, "genuine"), (3, "genuine"), (4, "genuine"),
    ]  # fmt: skip
    r = labels[0]
    assert (r.reviewer, r.audit_id, r.model_version) == (ALICE, "job-1", "fa-test-1")
    assert (
        r.account_key == step.session.accounts[0].key
        and r.score == answered.step.session.accounts[0].probability
    )
    # Bob starts at the beginning of the same draw
    assert (await svc.start(sample(), BOB, is_admin=False)).position == 0


async def test_a_later_label_replaces_the_earlier_and_position_never_goes_back(redis: Any) -> None:
    svc = service(redis)
    review_id = (await svc.start(sample(), ALICE, is_admin=False)).session.review_id
    for i in range(3):
        await svc.answer(review_id, ALICE, i, "genuine", is_admin=False)
    answered = await svc.answer(review_id, ALICE, 0, "fake", is_admin=False)
    assert answered.step.position == 3
    labels = await svc.store.labels(review_id)
    assert [(r.index, r.label) for r in labels] == [(0, "fake"), (1, "genuine"), (2, "genuine")]
    with pytest.raises(ReviewError, match="not part"):
        await svc.answer(review_id, ALICE, 25, "fake", is_admin=False)
    with pytest.raises(ReviewError, match="one of"):
        await svc.answer(review_id, ALICE, 3, "bot", is_admin=False)
    with pytest.raises(ReviewError, match="no longer available"):
        await svc.answer("nope", ALICE, 0, "fake", is_admin=False)
    # the end of the draw
    for i in range(3, 25):
        answered = await svc.answer(review_id, ALICE, i, "unsure", is_admin=False)
    assert answered.step.done and answered.step.item is None


async def test_labels_are_rate_limited_per_reviewer(redis: Any) -> None:
    svc = service(redis, rate_labels=3, rate_window_seconds=60)
    review_id = (await svc.start(sample(), ALICE, is_admin=False)).session.review_id
    await svc.start(sample(), BOB, is_admin=False)
    for i in range(3):
        await svc.answer(review_id, ALICE, i, "fake", is_admin=False)
    with pytest.raises(RateLimited) as limited:
        await svc.answer(review_id, ALICE, 3, "fake", is_admin=False)
    assert 0 < limited.value.retry_after <= 60 and "try again" in limited.value.message
    assert len(await svc.store.labels(review_id)) == 3
    assert (await svc.resume(review_id, ALICE, is_admin=False)).position == 3
    await svc.answer(review_id, BOB, 0, "fake", is_admin=False)  # Bob has his own window


async def test_sizes_are_bounded(redis: Any) -> None:
    svc = service(redis, max_reviewers=2, max_sessions=2)
    review_id = (await svc.start(sample(), ALICE, is_admin=False)).session.review_id
    await svc.start(sample(), BOB, is_admin=False)
    with pytest.raises(ReviewError, match="2 reviewers already"):
        await svc.start(sample(), MALLORY, is_admin=True)
    with pytest.raises(ReviewError, match="2 reviewers already"):
        await svc.answer(review_id, MALLORY, 0, "fake", is_admin=True)
    await svc.start(sample(audit_id="job-2"), ALICE, is_admin=False)
    with pytest.raises(ReviewError, match="no new review"):
        await svc.start(sample(audit_id="job-3"), ALICE, is_admin=False)
    # the review of job-2 exists: its draw stands, whatever N a later call asks for
    assert (await svc.start(sample(audit_id="job-2"), BOB, is_admin=False, n=5)).total == 25
    with pytest.raises(ReviewError, match="no followers"):
        await service(redis).start(sample(n=0, audit_id="job-9"), ALICE, is_admin=False)


async def test_results_share_interval_agreement_and_model_check(redis: Any) -> None:
    clock = FakeClock()
    svc = service(redis, clock)
    step = await svc.start(sample(), ALICE, is_admin=False)
    review_id = step.session.review_id
    await svc.start(sample(), BOB, is_admin=False)
    probs = [a.probability for a in step.session.accounts]
    # Alice: the 10 highest-scored drawn accounts fake, the rest genuine, two she can't tell
    order = sorted(range(25), key=lambda i: probs[i], reverse=True)
    for rank, i in enumerate(order):
        label = "fake" if rank < 10 else ("unsure" if rank >= 23 else "genuine")
        await svc.answer(review_id, ALICE, i, label, is_admin=False)
        clock.advance(1)
    # Bob disagrees on one fake and agrees on another
    await svc.answer(review_id, BOB, order[0], "genuine", is_admin=False)
    await svc.answer(review_id, BOB, order[1], "fake", is_admin=False)
    results = await svc.results(review_id)
    share = results.share
    assert (share.fake, share.genuine, share.unsure, results.disputed) == (9, 13, 2, 1)
    assert (share.low, share.high) == pytest.approx(wilson_interval(9, 22))
    assert results.reviewers == 2 and results.unlabelled == 0
    assert results.agree is True  # 41% (23-61%) overlaps the audit's 20-40%
    assert results.check.auc == 1.0  # the labels follow the scores exactly
    assert results.check.n_fake == 9 and sum(b["n"] for b in results.check.bins) == 22
    text = render_results(results)
    assert "Reviewed fake share: 41% (23%-61%, 95% Wilson interval; 9 fake of 22)" in text
    assert "2 can't tell, 1 labelled both ways" in text and "The audit estimated 30%" in text
    assert "They agree" in text and "AUC 1.00" in text


async def test_results_before_any_label_and_without_the_audit_interval(redis: Any) -> None:
    svc = service(redis)
    s = sample()
    s = AuditedSample(**{**{f: getattr(s, f) for f in s.__dataclass_fields__}, "fake_share": None})
    review_id = (await svc.start(s, ALICE, is_admin=False)).session.review_id
    results = await svc.results(review_id)
    assert results.share.share is None and results.agree is None and results.unlabelled == 25
    assert results.check.auc is None
    assert "not yet" in render_results(results)


async def test_account_card_hides_the_score_and_escapes(redis: Any) -> None:
    svc = service(redis)
    hostile = Account(
        platform="bluesky", id="did:plc:x", handle="evil.bsky.social",
        display_name="@everyone\nclick\u202e", bio="line\x00two", observed_at=SEEN,
        created_at=SEEN - timedelta(days=800), followers_count=5, has_default_avatar=True,
    )  # fmt: skip
    s = AuditedSample("bluesky", "x.bsky.social", "job-h", "fa-test-1", [hostile], [0.97])
    step = await svc.start(s, ALICE, is_admin=False)
    card = render_account(step)
    assert card.startswith("1 of 1: @evil.bsky.social (https://bsky.app/profile/evil.bsky.social)")
    assert "@\u200beveryone click" in card and "\x00" not in card and "\u202e" not in card
    assert "97" not in card and "0.97" not in card
    assert "avatar: no, banner: unknown" in card and "2.2 years" in card


async def test_export_gives_exactly_the_agreed_labels(redis: Any) -> None:
    clock = FakeClock()
    svc = service(redis, clock)
    first = (await svc.start(sample(), ALICE, is_admin=False)).session
    await svc.start(sample(), BOB, is_admin=False)
    acc = first.accounts
    await svc.answer(first.review_id, ALICE, 0, "fake", is_admin=False)
    await svc.answer(first.review_id, BOB, 0, "fake", is_admin=False)
    await svc.answer(first.review_id, ALICE, 1, "genuine", is_admin=False)
    await svc.answer(first.review_id, BOB, 1, "unsure", is_admin=False)
    await svc.answer(first.review_id, ALICE, 2, "fake", is_admin=False)  # disputed
    await svc.answer(first.review_id, BOB, 2, "genuine", is_admin=False)
    await svc.answer(first.review_id, ALICE, 3, "unsure", is_admin=False)
    # a later audit of the same handle (of exactly these 25 followers) draws another review;
    # Alice changes her mind about account 4 there: her latest label counts
    clock.advance(10)
    await svc.answer(first.review_id, ALICE, 4, "fake", is_admin=False)
    clock.advance(10)
    later = AuditedSample("bluesky", first.handle, "job-2", "fa-test-1",
                          [a.account for a in acc], [a.probability for a in acc])  # fmt: skip
    second = (await svc.start(later, ALICE, is_admin=False)).session
    assert {a.key for a in second.accounts} == {a.key for a in acc}
    where = [a.key for a in second.accounts].index(acc[4].key)
    await svc.answer(second.review_id, ALICE, where, "genuine", is_admin=False)
    mastodon = AuditedSample("mastodon", "a@b.example", "job-m", "fa-test-1",
                             [follower(1, "mastodon")], [0.5])  # fmt: skip
    m = (await svc.start(mastodon, ALICE, is_admin=False)).session
    await svc.answer(m.review_id, ALICE, 0, "genuine", is_admin=False)

    export = export_rows(await svc.labelled("bluesky"))
    got = {row["id"]: row for row in export.rows}
    assert set(got) == {acc[0].account.id, acc[1].account.id, acc[4].account.id}
    assert got[acc[0].account.id]["label"] == 1 and got[acc[1].account.id]["label"] == 0
    assert got[acc[4].account.id]["label"] == 0
    assert (export.conflicts, export.unsure) == (1, 1)
    row = got[acc[0].account.id]
    assert row["source"] == "review/bluesky" and "platform_only" not in row
    assert Account.from_dict(row).handle == acc[0].account.handle
    everything = export_rows(await svc.labelled())
    assert len(everything.rows) == 4 and everything.rows[-1]["source"] == "review/mastodon"


def test_stored_records_are_validated() -> None:
    session = ReviewSession(
        review_id="r1", platform="bluesky", handle="h", audit_id="a", model_version="m",
        created_at=1.0, sample_size=3, seed=2**63 + 5,
        accounts=drawn([follower(1), follower(2)], [0.1, 0.9], [1, 0]),
        audit_share=(0.5, 0.4, 0.6),
    )  # fmt: skip
    assert ReviewSession.from_json(session.to_json()) == session
    obj = json.loads(session.to_json())
    for broken in (
        {**obj, "v": 2},
        {**obj, "accounts": []},
        {**obj, "accounts": obj["accounts"] * 51},
        {**obj, "seed": "-1"},
        {**obj, "audit_share": {"estimate": 2, "low": 0, "high": 1}},
        {**obj, "accounts": [{"account": {"platform": "bluesky"}, "probability": 0.5}]},
        {**obj, "review_id": ""},
    ):
        with pytest.raises(StoredError):
            ReviewSession.from_json(json.dumps(broken))
    with pytest.raises(StoredError):
        ReviewSession.from_json("{")
    record = LabelRecord("r1", 0, "bluesky:1", "fake", ALICE, 5.0, "a", "m", 0.25)
    assert LabelRecord.from_json(record.to_json()) == record
    raw = json.loads(record.to_json())
    for broken in ({**raw, "label": "bot"}, {**raw, "index": 100}, {**raw, "score": 1.5},
                   {**raw, "reviewer": {"platform": "telegram"}}):  # fmt: skip
        with pytest.raises(StoredError):
            LabelRecord.from_json(json.dumps(broken))


def test_reviewers_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "FOLLOWAUDIT_REVIEW__REVIEWERS", '{"Telegram": [123, "456"], "discord": ["789"]}'
    )
    monkeypatch.setenv("FOLLOWAUDIT_REVIEW__RATE_LABELS", "30")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.review.reviewers == {"telegram": ["123", "456"], "discord": ["789"]}
    assert settings.review.rate_labels == 30
    with pytest.raises(ValueError):
        ReviewSettings(reviewers={"telegram": [""]})
