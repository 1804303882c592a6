"""The X source against a fake API v2."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.sources.base import Checkpoint
from bot.sources.errors import (
    AuthenticationNeeded,
    NotFound,
    PlatformUnavailable,
    RateLimited,
    SourceError,
    SuspendedOrPrivate,
)
from bot.sources.handles import Handle
from bot.sources.x import NO_TOKEN, XSource
from tests.fakes.x import FakeX
from tests.sources.conftest import make_settings

JACK = Handle("x", "jack")
TOKEN = "AAAA-secret-bearer-token-1234"


@pytest.fixture
async def xfake() -> AsyncIterator[FakeX]:
    async with FakeX(TOKEN) as fake:
        yield fake  # type: ignore[misc]


def source(
    session: aiohttp.ClientSession, fake: FakeX, token: str | None = TOKEN, **x: Any
) -> XSource:
    return XSource(
        session, make_settings(x={"base_url": fake.base_url, "bearer_token": token, **x})
    )


async def test_reads_followers_newest_first(session, xfake: FakeX) -> None:
    ident = xfake.add_user("jack")
    new = xfake.add_followers(ident, 1200)
    seen: list[tuple[int, int]] = []
    result = await source(session, xfake).fetch(
        JACK, sample=1500, progress=lambda r, t: seen.append((r, t))
    )
    assert result.subject.id == ident and result.followers_total == 1200
    assert [a.id for a in result.followers] == list(reversed(new))
    first = result.followers[0]
    assert first.handle == "f1199" and first.followers_count == 0 and first.has_banner
    assert first.created_at is not None and first.posts_count == 50
    assert result.complete and seen[-1] == (1200, 1200)
    pages = [q for e, q, _ in xfake.log if e == "followers"]
    assert [q["max_results"] for q in pages] == ["1000", "500"]
    assert "public_metrics" in pages[0]["user.fields"]
    assert result.requests == 3


async def test_sample_limit_and_empty_list(session, xfake: FakeX) -> None:
    ident = xfake.add_user("jack")
    xfake.add_followers(ident, 50)
    result = await source(session, xfake).fetch(JACK, sample=20)
    assert len(result.followers) == 20 and not result.complete
    xfake.add_user("nobody_follows")
    empty = await source(session, xfake).fetch(Handle("x", "nobody_follows"))
    assert empty.followers == [] and empty.complete


async def test_no_token_is_one_sentence(session, xfake: FakeX) -> None:
    xfake.add_user("jack")
    with pytest.raises(AuthenticationNeeded) as info:
        await source(session, xfake, token=None).fetch(JACK)
    message = str(info.value)
    assert message == NO_TOKEN and message.endswith(".") and ". " not in message
    assert xfake.total_requests == 0
    with pytest.raises(AuthenticationNeeded):
        await source(session, xfake, token="  ").fetch(JACK)


async def test_refused_token_never_leaks(session, xfake: FakeX, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    xfake.add_user("jack")
    with pytest.raises(AuthenticationNeeded, match="refused") as info:
        await source(session, xfake, token="wrong-token-ZZZ").fetch(JACK)
    assert "wrong-token-ZZZ" not in str(info.value) and "wrong-token-ZZZ" not in caplog.text


async def test_token_absent_from_every_error_and_log(session, xfake: FakeX, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    ident = xfake.add_user("jack")
    xfake.add_followers(ident, 5)
    for kind in ("500", "timeout", "malformed", "429"):
        xfake.fail("followers", kind, times=5, retry_after=900)
        with pytest.raises(SourceError) as info:
            await source(session, xfake, timeout_seconds=0.3, max_retries=1).fetch(JACK)
        assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
        xfake._faults.clear()
    assert TOKEN not in caplog.text
    settings = make_settings(x={"bearer_token": TOKEN})
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())


async def test_unknown_suspended_and_protected(session, xfake: FakeX) -> None:
    with pytest.raises(NotFound):
        await source(session, xfake).fetch(Handle("x", "ghost"))
    ident = xfake.add_user("banned")
    xfake.suspended.add(ident)
    with pytest.raises(SuspendedOrPrivate, match="suspended"):
        await source(session, xfake).fetch(Handle("x", "banned"))
    xfake.add_user("quiet", protected=True)
    with pytest.raises(SuspendedOrPrivate, match="protected"):
        await source(session, xfake).fetch(Handle("x", "quiet"))


async def test_protected_discovered_on_the_follower_endpoint(session, xfake: FakeX) -> None:
    """The lookup may predate the switch to protected: the follower endpoint's error counts."""
    ident = xfake.add_user("jack")
    xfake.add_followers(ident, 3)
    src = source(session, xfake)
    saved: list[Checkpoint] = []
    await src.fetch(JACK, sample=1, on_page=saved.append)
    cp = saved[0].to_dict()
    cp["done"] = False
    xfake.users[ident]["protected"] = True
    with pytest.raises(SuspendedOrPrivate, match="protected"):
        await src.fetch(JACK, resume=cp)


async def test_429_with_a_near_reset_then_success(session, xfake: FakeX) -> None:
    ident = xfake.add_user("jack")
    xfake.add_followers(ident, 10)
    xfake.fail("followers", "429", retry_after=0)
    result = await source(session, xfake).fetch(JACK)
    assert len(result.followers) == 10 and xfake.requests["followers"] == 2


async def test_429_with_a_far_reset_is_rate_limited(session, xfake: FakeX) -> None:
    ident = xfake.add_user("jack")
    xfake.add_followers(ident, 10)
    xfake.fail("followers", "429", retry_after=840)
    with pytest.raises(RateLimited) as info:
        await source(session, xfake).fetch(JACK)
    assert 830 <= info.value.retry_after <= 842 and "14 min" in str(info.value)


@pytest.mark.parametrize("kind", ["500", "503", "timeout", "malformed", "truncated"])
async def test_transient_failures_are_retried(session, xfake: FakeX, kind: str) -> None:
    ident = xfake.add_user("jack")
    xfake.add_followers(ident, 10)
    xfake.fail("by_username", kind)
    xfake.fail("followers", kind, times=2)
    result = await source(session, xfake, timeout_seconds=0.3).fetch(JACK)
    assert len(result.followers) == 10


@pytest.mark.parametrize("kind", ["500", "wrong_shape", "malformed"])
async def test_persistent_failures(session, xfake: FakeX, kind: str) -> None:
    xfake.add_user("jack")
    xfake.fail("by_username", kind, times=10)
    with pytest.raises(PlatformUnavailable, match="X"):
        await source(session, xfake, max_retries=1).fetch(JACK)


async def test_resume(session, xfake: FakeX) -> None:
    ident = xfake.add_user("jack")
    xfake.add_followers(ident, 2500)
    saved: list[dict[str, Any]] = []
    src = source(session, xfake)
    full = await src.fetch(
        JACK, sample=2500, on_page=lambda cp: saved.append(json.loads(json.dumps(cp.to_dict())))
    )
    assert [len(s["followers"]) for s in saved] == [1000, 2000, 2500]
    before = xfake.total_requests
    resumed = await src.fetch(JACK, resume=saved[0])
    assert [a.id for a in resumed.followers] == [a.id for a in full.followers]
    assert xfake.total_requests - before == 2
