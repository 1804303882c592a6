"""A re-audit reads only the followers newer than the previous audit's: paging stops at the first
page that meets a remembered follower, the new ones are judged on their own (new count, their fake
share, bursts among them) and the overall share still comes from the newest sample."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from bot.alerts.auditor import SourceAuditor
from bot.alerts.memory import FollowerMemory
from bot.audit.usecase import AuditUseCase
from scoring.account import Account
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.telegram_api import FakeTelegram
from tests.test_alerts_e2e import (  # noqa: F401  (fixtures reused)
    ADMIN,
    GROUP,
    TARGET,
    add_dump,
    add_genuine,
    bsky,
    dc,
    due_now,
    fake_handles,
    runtime,
    settings_for,
    tg,
)


async def test_a_re_audit_reads_only_the_new_followers(
    settings_for: Callable[..., Any],  # noqa: F811
    redis: Any,
    clock: Any,
    bsky: FakeBluesky,  # noqa: F811
    tg: FakeTelegram,  # noqa: F811
) -> None:
    settings = settings_for()
    did = bsky.handles[TARGET]
    async with runtime(settings, redis, clock) as rt:
        pages = bsky.requests["getFollowers"]
        assert (await rt.service.watch(GROUP, ADMIN, "target.bsky.social")).ok
        assert bsky.requests["getFollowers"] - pages == 7  # the baseline reads all 700
        (watch,) = await rt.store.in_chat(GROUP)
        assert isinstance(rt.runner.auditor, SourceAuditor)

        add_genuine(bsky, did, 50, random.Random(5))
        await due_now(rt, clock, GROUP)
        pages = bsky.requests["getFollowers"]
        report = await rt.runner.run_due()
        assert (report.audited, report.alerts) == (1, 0)
        read = bsky.requests["getFollowers"] - pages
        assert 1 <= read <= 2, read  # about one page, not ten
        snap = (await rt.store.history(watch.id))[-1]
        assert snap.new_followers == 50 and snap.new_share is not None
        assert snap.sample_size == 750 and snap.followers_total == 750

        # the overall share is the newest sample's, as a full read finds it
        full = SourceAuditor(
            AuditUseCase(rt.runner.auditor.session, settings, rt.runner.auditor.model)
        )
        fresh = await full.audit("bluesky", TARGET)
        assert snap.share is not None and fresh.share.estimate is not None
        assert snap.share.estimate == pytest.approx(fresh.share.estimate, abs=0.01)

        # nothing new: one page; then a dump of 300 is read (4 pages) and alerted on
        await due_now(rt, clock, GROUP)
        pages = bsky.requests["getFollowers"]
        assert (await rt.runner.run_due()).alerts == 0
        assert bsky.requests["getFollowers"] - pages <= 2
        assert (await rt.store.history(watch.id))[-1].new_followers == 0

        dump = add_dump(bsky, did, 300)
        await due_now(rt, clock, GROUP)
        pages = bsky.requests["getFollowers"]
        report = await rt.runner.run_due()
        assert report.alerts == 1
        assert 4 <= bsky.requests["getFollowers"] - pages <= 6
        snap = (await rt.store.history(watch.id))[-1]
        assert snap.new_followers == 300 and snap.sample_size == 1000  # capped at the sample
        (alert,) = tg.sent_to(int(GROUP.chat_id))
        assert "new burst of 300 suspicious followers" in alert.text
        assert sum("@" + h in alert.text for h in fake_handles(bsky, dump)) >= 5


async def test_memory_is_bounded_versioned_and_can_be_off(redis: Any) -> None:
    memory = FollowerMemory(redis, "t:", ttl_seconds=60, cap=2)
    assert await memory.recall("bluesky", "a.test") == []
    await redis.set(memory.key("bluesky", "a.test"), '{"v":99,"followers":[]}')
    assert await memory.recall("bluesky", "a.test") == []  # another version: not trusted
    await redis.set(memory.key("bluesky", "a.test"), "not json")
    assert await memory.recall("bluesky", "a.test") == []
    off = FollowerMemory(redis, "t:", ttl_seconds=0, cap=2)
    assert await off.recall("bluesky", "a.test") == []
    ttl = await redis.ttl(memory.key("bluesky", "a.test"))
    assert ttl == -1  # set by hand above; what remember() writes expires:
    accounts = [
        Account.from_dict({"platform": "bluesky", "id": str(i), "handle": f"u{i}.test",
                           "bio": "<b>hi</b>", "created_at": "2024-05-01T00:00:00Z",
                           "followers_count": i, "has_banner": False})
        for i in range(5)
    ]  # fmt: skip
    await memory.remember("bluesky", "a.test", accounts)
    assert 0 < await redis.ttl(memory.key("bluesky", "a.test")) <= 60
    assert await memory.recall("bluesky", "a.test") == accounts[:2]  # bounded, exact
    raw = await redis.get(memory.key("bluesky", "a.test"))
    assert b"null" not in raw  # unknown fields are left out
