"""The Mastodon source against a fake instance shaped like the REST API."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import aiohttp
import pytest

from bot.sources._addresses import AddressRefused, PinnedResolver
from bot.sources.base import Checkpoint
from bot.sources.errors import (
    AuthenticationNeeded,
    FollowersHidden,
    NotFound,
    PlatformUnavailable,
    RateLimited,
    SuspendedOrPrivate,
)
from bot.sources.handles import Handle
from bot.sources.mastodon import MastodonSource, is_public_address, next_max_id
from tests.fakes.mastodon import FakeMastodon
from tests.sources.conftest import make_settings

USER = Handle("mastodon", "user@example.social")


def source(session: aiohttp.ClientSession, fake: FakeMastodon, **masto: Any) -> MastodonSource:
    return MastodonSource(session, make_settings(mastodon={"base_url": fake.base_url, **masto}))


async def test_reads_every_follower_newest_first(session, masto: FakeMastodon) -> None:
    ident = masto.add_account("user")
    new = masto.add_followers(ident, 170)
    remote = masto.add_account("far", "other.social")
    masto.follows[ident].insert(0, (999_999, remote))
    masto.accounts[ident]["followers_count"] = 171
    seen: list[tuple[int, int]] = []
    result = await source(session, masto).fetch(USER, progress=lambda r, t: seen.append((r, t)))
    assert result.subject.id == ident and result.subject.handle == "user@example.social"
    assert result.followers_total == 171
    assert [a.id for a in result.followers] == [remote, *reversed(new)]
    assert result.followers[0].handle == "far@other.social"
    assert result.followers[1].handle == "f169@example.social"
    assert result.followers[1].last_post_at is not None and result.followers[1].bio
    assert result.complete
    assert masto.requests["followers"] == 3  # 80 + 80 + 11
    assert [q.get("max_id") is None for e, q, _ in masto.log if e == "followers"] == [
        True,
        False,
        False,
    ]
    assert seen[0] == (0, 171) and seen[-1] == (171, 171)
    assert result.requests == masto.total_requests == 4


async def test_page_of_exactly_eighty_then_empty_page(session, masto: FakeMastodon) -> None:
    ident = masto.add_account("user")
    masto.add_followers(ident, 80)
    result = await source(session, masto).fetch(USER)
    assert len(result.followers) == 80 and result.complete
    assert masto.requests["followers"] == 2


async def test_stops_at_the_sample_size(session, masto: FakeMastodon) -> None:
    ident = masto.add_account("user")
    masto.add_followers(ident, 300)
    result = await source(session, masto).fetch(USER, sample=100)
    assert len(result.followers) == 100 and not result.complete
    assert [q["limit"] for e, q, _ in masto.log if e == "followers"] == ["80", "20"]
    assert (len(result.followers), result.followers_total, result.order) == (
        100,
        300,
        "newest_first",
    )


async def test_declared_bots_locked_and_default_avatars(session, masto: FakeMastodon) -> None:
    ident = masto.add_account("user")
    bot = masto.add_account(
        "robot",
        bot=True,
        locked=True,
        avatar="https://example.social/avatars/original/missing.png",
        avatar_static="https://example.social/avatars/original/missing.png",
    )
    masto.follows[ident] = [(5, bot)]
    masto.accounts[ident]["followers_count"] = 1
    [follower] = (await source(session, masto).fetch(USER)).followers
    assert follower.declared_bot is True and follower.protected is True
    assert follower.has_default_avatar is True


async def test_no_followers_is_an_empty_audit(session, masto: FakeMastodon) -> None:
    masto.add_account("user")
    result = await source(session, masto).fetch(USER)
    assert result.followers == [] and result.followers_total == 0 and result.complete


async def test_hidden_network_is_a_clear_error(session, masto: FakeMastodon) -> None:
    ident = masto.add_account("user")
    masto.add_followers(ident, 20)
    masto.hidden.add(ident)
    with pytest.raises(FollowersHidden, match="hides its followers"):
        await source(session, masto).fetch(USER)


async def test_hidden_network_with_hidden_count(session, masto: FakeMastodon) -> None:
    ident = masto.add_account("user", hide_collections=True)
    masto.hidden.add(ident)
    with pytest.raises(FollowersHidden):
        await source(session, masto).fetch(USER)


async def test_unknown_and_suspended_accounts(session, masto: FakeMastodon) -> None:
    with pytest.raises(NotFound):
        await source(session, masto).fetch(Handle("mastodon", "ghost@example.social"))
    masto.add_account("gone", suspended=True)
    with pytest.raises(SuspendedOrPrivate):
        await source(session, masto).fetch(Handle("mastodon", "gone@example.social"))


async def test_private_instance_names_are_refused_without_a_base_url(session) -> None:
    src = MastodonSource(session, make_settings())
    with pytest.raises(NotFound, match="not a public Mastodon server"):
        await src.fetch(Handle("mastodon", "user@printer.local"))


@pytest.mark.parametrize("kind", ["429", "500", "503", "malformed", "truncated", "timeout"])
async def test_transient_failure_then_success(session, masto: FakeMastodon, kind: str) -> None:
    ident = masto.add_account("user")
    masto.add_followers(ident, 100)
    masto.fail("lookup", kind)
    masto.fail("followers", kind)
    result = await source(session, masto, timeout_seconds=0.3).fetch(USER)
    assert len(result.followers) == 100
    assert masto.requests["lookup"] == 2 and masto.requests["followers"] == 3


@pytest.mark.parametrize("kind", ["502", "malformed", "wrong_shape", "timeout"])
async def test_persistent_failure_is_platform_unavailable(session, masto, kind: str) -> None:
    ident = masto.add_account("user")
    masto.add_followers(ident, 10)
    masto.fail("followers", kind, times=10)
    with pytest.raises(PlatformUnavailable, match=r"example\.social"):
        await source(session, masto, timeout_seconds=0.3, max_retries=1).fetch(USER)


async def test_rate_limit_reset_far_away(session, masto: FakeMastodon) -> None:
    ident = masto.add_account("user")
    masto.add_followers(ident, 10)
    masto.fail("followers", "429", retry_after=600)
    with pytest.raises(RateLimited) as info:
        await source(session, masto).fetch(USER)
    assert 590 <= info.value.retry_after <= 600


async def test_remaining_zero_waits_for_a_near_reset(session, masto: FakeMastodon) -> None:
    ident = masto.add_account("user")
    masto.add_followers(ident, 100)
    masto.rate_limit_remaining = 1  # the lookup leaves 0 for the pages, reset soon
    masto.rate_limit_reset_in = 0.2
    result = await source(session, masto).fetch(USER)
    assert len(result.followers) == 100


async def test_instance_that_needs_sign_in(session) -> None:
    from aiohttp import web

    from tests.fakes._server import FakeServer, json_response

    class Closed(FakeServer):
        def __init__(self) -> None:
            super().__init__()
            self.app.router.add_get("/api/v1/accounts/lookup", self._deny)

        async def _deny(self, request: web.Request) -> web.Response:
            return json_response({"error": "This API requires an authenticated user"}, 401)

    async with Closed() as fake:
        src = MastodonSource(session, make_settings(mastodon={"base_url": fake.base_url}))
        with pytest.raises(AuthenticationNeeded, match="signed-in"):
            await src.fetch(USER)


async def test_resume_from_a_checkpoint(session, masto: FakeMastodon) -> None:
    ident = masto.add_account("user")
    masto.add_followers(ident, 200)
    saved: list[dict[str, Any]] = []

    def keep(cp: Checkpoint) -> None:
        saved.append(json.loads(json.dumps(cp.to_dict())))

    src = source(session, masto)
    full = await src.fetch(USER, on_page=keep)
    assert [len(s["followers"]) for s in saved] == [80, 160, 200]
    before = masto.requests.copy()
    resumed = await src.fetch(USER, resume=saved[0])
    assert [a.id for a in resumed.followers] == [a.id for a in full.followers]
    assert masto.requests["lookup"] == before["lookup"]  # no second lookup
    assert masto.requests["followers"] - before["followers"] == 2


def test_next_link_parsing() -> None:
    link = (
        '<https://ex.social/api/v1/accounts/1/followers?limit=80&max_id=7486869>; rel="next", '
        '<https://ex.social/api/v1/accounts/1/followers?limit=80&since_id=7489740>; rel="prev"'
    )
    assert next_max_id(link) == "7486869"
    assert next_max_id('<https://ex.social/x?since_id=3>; rel="prev"') is None
    assert next_max_id('<https://evil.example/x?max_id=../../admin>; rel="next"') is None
    assert next_max_id(None) is None and next_max_id("garbage") is None


async def test_redirects_are_not_followed(session) -> None:
    from aiohttp import web

    from tests.fakes._server import FakeServer

    class Redirecting(FakeServer):
        def __init__(self) -> None:
            super().__init__()
            self.app.router.add_get("/api/v1/accounts/lookup", self._away)
            self.app.router.add_get("/elsewhere", self._away)

        async def _away(self, request: web.Request) -> web.Response:
            raise web.HTTPFound(f"{self.base_url}/elsewhere")

    async with Redirecting() as fake:
        src = MastodonSource(session, make_settings(mastodon={"base_url": fake.base_url}))
        with pytest.raises(PlatformUnavailable, match="302"):
            await src.fetch(USER)
        assert fake.requests["/elsewhere"] == 0


async def test_a_cursor_chain_that_never_ends_is_cut(session, masto: FakeMastodon) -> None:
    """A hostile server repeating the same accounts under ever new cursors stops being read."""
    ident = masto.add_account("user")
    a, b = masto.add_account("a"), masto.add_account("b")
    masto.follows[ident] = [(10_000 - i, a if i % 2 else b) for i in range(5000)]
    masto.accounts[ident]["followers_count"] = 5000
    result = await source(session, masto).fetch(USER, sample=100)
    assert {f.id for f in result.followers} == {a, b}
    assert masto.requests["followers"] == 7  # 2 * ceil(100 / 80) + 3


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.10", False),
        ("172.16.5.4", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("not an address", False),
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("::ffff:93.184.216.34", True),
        # IPv4-compatible (deprecated ::a.b.c.d): judged by the IPv4 address inside
        ("::127.0.0.1", False),
        ("::10.0.0.1", False),
        ("::93.184.216.34", True),
        # NAT64 and 6to4 are refused whatever they embed: a translator decides where they lead
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b::5db8:d822", False),
        ("64:ff9b:1::a00:1", False),
        ("2002:7f00:1::1", False),
        ("2002:a00:1::1", False),
        ("2002:5db8:d822::1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


class FakeDns:
    """A name server that answers each lookup with the next of ``answers`` (the last repeats)."""

    def __init__(self, *answers: list[tuple[str, int]]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[tuple[str, int]]:
        self.asked.append(host)
        if isinstance(self.answers[0], OSError):
            raise self.answers[0]
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


async def test_the_pinned_resolver_answers_only_what_it_checked() -> None:
    dns = FakeDns([("93.184.216.34", 443)], [("127.0.0.1", 443)])  # public, then loopback
    resolver = PinnedResolver(dns)
    for _ in range(3):
        [first] = await resolver.resolve("rebind.social", 443, family=0)
        assert (first["host"], first["port"], first["hostname"]) == (
            "93.184.216.34", 443, "rebind.social",
        )  # fmt: skip
    assert dns.asked == ["rebind.social"]  # looked up once: the connection sees the checked answer
    with pytest.raises(AddressRefused):  # any private address among the answers refuses the name
        await PinnedResolver(FakeDns([("93.184.216.34", 443), ("10.0.0.8", 443)])).pin("x.y", 443)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([("93.184.216.34", 443), ("::1", 443)], "not a public Mastodon server"),
        ([("64:ff9b::7f00:1", 443)], "not a public Mastodon server"),
        ([], "not a public Mastodon server"),
        (OSError("no such name"), "No Mastodon server answers"),
    ],
)
async def test_instances_that_resolve_to_private_addresses_are_refused(
    session, answer: Any, message: str
) -> None:
    dns = FakeDns(answer)
    src = MastodonSource(session, make_settings(), resolver=lambda: PinnedResolver(dns))
    with pytest.raises(NotFound, match=message):
        await src.fetch(Handle("mastodon", "user@rebind.social"))
    assert dns.asked == ["rebind.social"]


async def test_the_connection_goes_to_the_checked_address(session) -> None:
    """DNS rebinding: the name answers an allowed address for the check, then an internal one.
    The request must go to the address that was checked, never to the internal service.
    127.0.0.2 plays the public internet here (the real check refuses every loopback address)."""
    import asyncio

    accepted = {"public": 0, "internal": 0}

    def listener(name: str):
        def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted[name] += 1
            writer.close()

        return accept

    public = await asyncio.start_server(listener("public"), "127.0.0.2", 0)
    internal = await asyncio.start_server(listener("internal"), "127.0.0.1", 0)
    async with public, internal:
        dns = FakeDns(
            [("127.0.0.2", public.sockets[0].getsockname()[1])],
            [("127.0.0.1", internal.sockets[0].getsockname()[1])],
        )
        hosts: list[tuple[str, ...]] = []

        @contextlib.asynccontextmanager
        async def gate(*key: str):
            hosts.append(key)
            yield

        src = MastodonSource(
            session, make_settings(), gate=gate,
            resolver=lambda: PinnedResolver(dns, allowed={"127.0.0.2"}.__contains__),
        )  # fmt: skip
        with pytest.raises(PlatformUnavailable, match="could not be reached"):
            await src.fetch(Handle("mastodon", "user@rebind.social"))
    assert accepted["internal"] == 0 and accepted["public"] >= 1
    assert dns.asked == ["rebind.social"]
    assert set(hosts) == {("mastodon", "rebind.social")}  # the budget is the instance's own


async def test_a_slow_instance_holds_back_only_its_own_audits(session, redis) -> None:
    """Budgets are kept per instance: audits of an instance that does not answer hold every slot
    of its budget, and an audit of another instance still runs meanwhile."""
    import asyncio
    import time

    from bot.pipeline.budget import RedisBudgets
    from bot.pipeline.store import Store
    from tests.helpers import wait_until

    settings = make_settings()
    budgets = RedisBudgets(Store(redis), settings.limits.platforms, clock=time.time)
    slots = settings.limits.platforms["mastodon"].concurrency

    def on(fake: FakeMastodon) -> MastodonSource:
        masto = {"base_url": fake.base_url, "timeout_seconds": 60.0}
        return MastodonSource(session, make_settings(mastodon=masto), gate=budgets.request)

    async with FakeMastodon("slow.social") as slow, FakeMastodon("fast.social") as fast:
        slow.hold = asyncio.Event()
        for i in range(slots + 2):
            slow.add_followers(slow.add_account(f"u{i}"), 5)
        fast.add_followers(fast.add_account("user"), 100)
        stuck = [
            asyncio.create_task(on(slow).fetch(Handle("mastodon", f"u{i}@slow.social")))
            for i in range(slots + 2)
        ]
        await wait_until(lambda: slow.held == slots, what="the slow instance holding its slots")
        result = await asyncio.wait_for(on(fast).fetch(Handle("mastodon", "user@fast.social")), 5)
        assert len(result.followers) == 100
        assert slow.held == slots and not any(task.done() for task in stuck)
        slow.hold.set()
        done = await asyncio.wait_for(asyncio.gather(*stuck), 10)
    assert [len(r.followers) for r in done] == [5] * (slots + 2)
