"""The Bluesky source against a fake AppView shaped like the lexicons."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from bot.sources.base import Checkpoint
from bot.sources.bluesky import BlueskySource
from bot.sources.errors import NotFound, PlatformUnavailable, RateLimited, SuspendedOrPrivate
from bot.sources.handles import Handle
from tests.fakes.bluesky import FakeBluesky
from tests.sources.conftest import make_settings

ALICE = Handle("bluesky", "alice.test")


def source(session: aiohttp.ClientSession, fake: FakeBluesky, **bluesky: Any) -> BlueskySource:
    return BlueskySource(session, make_settings(bluesky={"base_url": fake.base_url, **bluesky}))


async def test_reads_every_follower_newest_first(session, bsky: FakeBluesky) -> None:
    did = bsky.add_account("alice.test", displayName="Alice")
    new = bsky.add_followers(did, 250)
    seen: list[tuple[int, int]] = []
    result = await source(session, bsky).fetch(ALICE, progress=lambda r, t: seen.append((r, t)))
    assert result.subject.id == did and result.subject.display_name == "Alice"
    assert result.followers_total == 250
    assert [a.id for a in result.followers] == list(reversed(new))
    assert result.followers[0].handle == "f249.test"
    assert result.followers[0].followers_count is not None  # enriched by getProfiles
    assert result.complete and result.order == "newest_first"
    assert (len(result.followers), result.followers_total, result.order) == (
        250,
        250,
        "newest_first",
    )
    assert result.handle.handle == "alice.test"
    assert seen[0] == (0, 250) and seen[-1] == (250, 250)
    assert [r for r, _ in seen] == sorted(r for r, _ in seen)
    assert bsky.requests["getFollowers"] == 3
    assert bsky.requests["getProfiles"] == 10  # 250 / 25
    assert result.requests == bsky.total_requests == 1 + 1 + 3 + 10


async def test_stops_at_the_sample_size(session, bsky: FakeBluesky) -> None:
    did = bsky.add_account("alice.test")
    bsky.add_followers(did, 500)
    result = await source(session, bsky).fetch(ALICE, sample=150)
    assert len(result.followers) == 150
    assert result.followers_total == 500 and not result.complete
    limits = [q["limit"] for e, q, _ in bsky.log if e == "getFollowers"]
    assert limits == ["100", "50"]


async def test_sample_is_capped_by_settings(session, bsky: FakeBluesky) -> None:
    did = bsky.add_account("alice.test")
    bsky.add_followers(did, 120)
    src = BlueskySource(
        session,
        make_settings(bluesky={"base_url": bsky.base_url}, sample={"default": 10, "max": 30}),
    )
    assert len((await src.fetch(ALICE)).followers) == 10
    assert len((await src.fetch(ALICE, sample=10_000)).followers) == 30


async def test_no_followers(session, bsky: FakeBluesky) -> None:
    bsky.add_account("alice.test")
    result = await source(session, bsky).fetch(ALICE)
    assert result.followers == [] and result.followers_total == 0 and result.complete
    assert bsky.requests["getProfiles"] == 0


async def test_follower_list_changes_between_calls(session, bsky: FakeBluesky) -> None:
    did = bsky.add_account("alice.test")
    bsky.add_followers(did, 5)
    src = source(session, bsky)
    assert len((await src.fetch(ALICE)).followers) == 5
    newest = bsky.add_followers(did, 3, prefix="g")
    again = await src.fetch(ALICE)
    assert len(again.followers) == 8 and again.followers[0].id == newest[-1]


async def test_accounts_hidden_from_get_profiles_keep_their_basic_view(session, bsky) -> None:
    did = bsky.add_account("alice.test")
    followers = bsky.add_followers(did, 30)
    bsky.omit_from_profiles.add(followers[0])
    result = await source(session, bsky).fetch(ALICE)
    by_id = {a.id: a for a in result.followers}
    assert len(result.followers) == 30
    assert by_id[followers[0]].followers_count is None
    assert by_id[followers[1]].followers_count is not None


async def test_self_labelled_bot_is_declared(session, bsky: FakeBluesky) -> None:
    did = bsky.add_account("alice.test")
    bot = bsky.add_account("robot.test")
    bsky.profiles[bot]["labels"] = [
        {
            "src": bot,
            "uri": f"at://{bot}/app.bsky.actor.profile/self",
            "val": "bot",
            "cts": "2024-01-01T00:00:00.000Z",
        }
    ]
    bsky.followers[did] = [bot]
    result = await source(session, bsky).fetch(ALICE)
    assert result.followers[0].declared_bot is True


async def test_unknown_handle(session, bsky: FakeBluesky) -> None:
    with pytest.raises(NotFound, match="No Bluesky account"):
        await source(session, bsky).fetch(Handle("bluesky", "nobody.test"))
    # A 400 is an answer, not a failure: nothing is retried.
    assert bsky.requests["getProfile"] == 1 and bsky.requests["resolveHandle"] == 1


async def test_taken_down_account(session, bsky: FakeBluesky) -> None:
    did = bsky.add_account("alice.test")
    bsky.taken_down.add(did)
    with pytest.raises(SuspendedOrPrivate):
        await source(session, bsky).fetch(ALICE)


async def test_did_handle_skips_resolution(session, bsky: FakeBluesky) -> None:
    did = bsky.add_account("alice.test")
    bsky.add_followers(did, 3)
    result = await source(session, bsky).fetch(Handle("bluesky", did))
    assert len(result.followers) == 3 and bsky.requests["resolveHandle"] == 0


@pytest.mark.parametrize("kind", ["429", "500", "502", "503", "malformed", "truncated", "timeout"])
async def test_transient_failure_then_success(session, bsky: FakeBluesky, kind: str) -> None:
    did = bsky.add_account("alice.test")
    bsky.add_followers(did, 150)
    bsky.fail("getFollowers", kind)
    bsky.fail("getProfiles", kind)
    result = await source(session, bsky, timeout_seconds=0.3).fetch(ALICE)
    assert len(result.followers) == 150
    assert bsky.requests["getFollowers"] == 3  # two pages plus the one retried


@pytest.mark.parametrize("kind", ["500", "malformed", "truncated", "wrong_shape", "timeout"])
async def test_persistent_failure_is_platform_unavailable(session, bsky, kind: str) -> None:
    did = bsky.add_account("alice.test")
    bsky.add_followers(did, 10)
    bsky.fail("getFollowers", kind, times=10)
    with pytest.raises(PlatformUnavailable) as info:
        await source(session, bsky, timeout_seconds=0.3, max_retries=2).fetch(ALICE)
    assert "Bluesky" in str(info.value)
    expected = 1 if kind == "wrong_shape" else 3
    assert bsky.requests["getFollowers"] == expected


async def test_long_rate_limit_is_reported_with_retry_time(session, bsky: FakeBluesky) -> None:
    did = bsky.add_account("alice.test")
    bsky.add_followers(did, 10)
    bsky.fail("getFollowers", "429", retry_after=120)
    with pytest.raises(RateLimited) as info:
        await source(session, bsky).fetch(ALICE)
    assert 100 <= info.value.retry_after <= 125
    assert "min" in str(info.value) and info.value.retryable


async def test_exhausted_budget_is_waited_for_before_the_next_request(session, bsky) -> None:
    did = bsky.add_account("alice.test")
    bsky.add_followers(did, 10)
    bsky.rate_limit_remaining = 0
    bsky.rate_limit_reset_in = 3600
    with pytest.raises(RateLimited):
        await source(session, bsky).fetch(ALICE)
    # The three opening requests go out together; nothing follows them once they report
    # that no budget is left.
    assert bsky.total_requests == 3 and bsky.requests["getProfiles"] == 0


async def test_checkpoints_resume_where_the_fetch_stopped(session, bsky: FakeBluesky) -> None:
    did = bsky.add_account("alice.test")
    new = bsky.add_followers(did, 350)
    saved: list[dict[str, Any]] = []
    src = source(session, bsky)

    def keep(cp: Checkpoint) -> None:
        saved.append(json.loads(json.dumps(cp.to_dict())))  # what Redis would hold

    full = await src.fetch(ALICE, on_page=keep)
    assert [len(s["followers"]) for s in saved] == [100, 200, 300, 350]
    assert saved[-1]["done"] and not saved[0]["done"]

    # A worker died after page two: a new fetch continues from that checkpoint.
    before = bsky.requests["getFollowers"]
    resumed = await src.fetch(ALICE, resume=saved[1])
    assert [a.id for a in resumed.followers] == [a.id for a in full.followers]

    def strip(a):
        return {k: v for k, v in a.to_dict().items() if k != "observed_at"}

    assert [strip(a) for a in resumed.followers] == [strip(a) for a in full.followers]
    assert bsky.requests["getFollowers"] - before == 2
    assert resumed.followers[0].id == new[-1]
    assert resumed.requests > saved[1]["requests"]

    # A finished checkpoint answers without any request.
    total = bsky.total_requests
    done = await src.fetch(ALICE, resume=saved[-1])
    assert len(done.followers) == 350 and bsky.total_requests == total


async def test_resume_rejects_another_accounts_checkpoint(session, bsky: FakeBluesky) -> None:
    did = bsky.add_account("alice.test")
    bsky.add_followers(did, 3)
    saved: list[Checkpoint] = []
    await source(session, bsky).fetch(ALICE, on_page=saved.append)
    with pytest.raises(ValueError, match="another account"):
        await source(session, bsky).fetch(Handle("bluesky", "bob.test"), resume=saved[0])
    with pytest.raises(ValueError, match="checkpoint"):
        await source(session, bsky).fetch(ALICE, resume={"version": 99})


async def test_profile_batches_overlap_the_next_page(session, bsky: FakeBluesky) -> None:
    """getProfiles answers are held until the last page has been asked for: a source that
    waited for a page's profiles before asking for the next page would time out here."""
    did = bsky.add_account("alice.test")
    bsky.add_followers(did, 300)
    bsky.hold_profiles_until_pages = 3
    result = await source(session, bsky, timeout_seconds=5.0, max_retries=0).fetch(ALICE)
    assert len(result.followers) == 300
    assert all(a.followers_count is not None for a in result.followers)
    assert bsky.requests["getFollowers"] == 3 and bsky.requests["getProfiles"] == 12


async def test_oversized_answer_is_refused(session, bsky: FakeBluesky) -> None:
    did = bsky.add_account("alice.test")
    bsky.add_followers(did, 50)
    with pytest.raises(PlatformUnavailable, match="too large"):
        await source(session, bsky, max_body_bytes=1024).fetch(ALICE)


async def test_moderation_labels_are_kept(session, bsky: FakeBluesky) -> None:
    did = bsky.add_account("alice.test")
    spammer = bsky.add_account("spammer.test")
    moderator = "did:plc:ar7c4by46qjdydhdevvrndac"
    bsky.profiles[spammer]["labels"] = [
        {"src": moderator, "uri": f"did:{spammer}", "val": "spam", "cts": "2024-01-01T00:00:00Z"},
        {
            "src": moderator,
            "uri": f"did:{spammer}",
            "val": "!hide",
            "neg": True,
            "cts": "2024-01-02T00:00:00Z",
        },
        {
            "src": spammer,
            "uri": f"at://{spammer}/app.bsky.actor.profile/self",
            "val": "bot",
            "cts": "2024-01-01T00:00:00Z",
        },
    ]
    bsky.followers[did] = [spammer]
    saved: list[Checkpoint] = []
    [follower] = (await source(session, bsky).fetch(ALICE, on_page=saved.append)).followers
    assert follower.extra["moderation_labels"] == ["spam"]
    assert follower.declared_bot is True
    assert saved[-1].accounts()[0].extra["moderation_labels"] == ["spam"]


async def test_gate_is_held_around_every_request(session, bsky: FakeBluesky) -> None:
    """The pipeline's shared budgets plug in as a gate; concurrency is bounded by it."""
    import asyncio
    import contextlib

    did = bsky.add_account("alice.test")
    bsky.add_followers(did, 300)
    bsky.latency = 0.01
    limit = asyncio.Semaphore(2)
    state = {"now": 0, "peak": 0, "calls": 0}
    platforms: set[str] = set()

    @contextlib.asynccontextmanager
    async def gate(platform: str):
        platforms.add(platform)
        async with limit:
            state["calls"] += 1
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
            try:
                yield
            finally:
                state["now"] -= 1

    src = BlueskySource(session, make_settings(bluesky={"base_url": bsky.base_url}), gate=gate)
    result = await src.fetch(ALICE)
    assert len(result.followers) == 300
    assert state["calls"] == result.requests == bsky.total_requests
    assert state["peak"] == 2 and platforms == {"bluesky"}
