"""``/alerts`` says and changes where AND when alerts go: ``off`` pauses a chat's alerts (its
watches kept, nothing re-audited or posted), ``on`` or ``here`` resumes them, ``every 12h`` sets
the re-audit interval within the configured bounds; all of it kept in Redis across restarts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.alerts.model import ChatPrefs, StoredError
from bot.alerts.schedule import next_slot, parse_interval
from bot.alerts.service import REFUSAL
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.telegram_api import FakeTelegram
from tests.test_alerts_e2e import (  # noqa: F401  (fixtures reused)
    ADMIN,
    GROUP,
    HOUR,
    MEMBER,
    TARGET,
    add_dump,
    bsky,
    dc,
    due_now,
    runtime,
    settings_for,
    tg,
)


def test_intervals_parse_and_prefs_round_trip() -> None:
    assert parse_interval("12h") == 12 * HOUR
    assert parse_interval(" 90 min ") == 5400
    assert parse_interval("1.5d") == 1.5 * 86400
    for bad in ("", "12", "h", "-3h", "12 hours please", "9" * 30 + "h"):
        try:
            parse_interval(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} parsed")
    prefs = ChatPrefs(True, 7200.0)
    assert ChatPrefs.from_json(prefs.to_json()) == prefs
    for raw in ('{"v":1,"off":"yes"}', '{"v":2,"off":true}', '{"v":1,"interval_seconds":-1}'):
        try:
            ChatPrefs.from_json(raw)
        except StoredError:
            continue
        raise AssertionError(raw)


async def test_off_pauses_without_losing_watches_and_on_catches_up(
    settings_for: Callable[..., Any],  # noqa: F811
    redis: Any,
    clock: Any,
    bsky: FakeBluesky,  # noqa: F811
    tg: FakeTelegram,  # noqa: F811
) -> None:
    async with runtime(settings_for(), redis, clock) as rt:
        assert (await rt.service.watch(GROUP, ADMIN, "target.bsky.social")).ok
        for reply in (
            await rt.service.alerts_option(GROUP, MEMBER, ["off"]),
            await rt.service.alerts_option(GROUP, MEMBER, ["every", "12h"]),
        ):
            assert reply is not None and not reply.ok and reply.text() == REFUSAL
        assert await rt.store.prefs(GROUP) == ChatPrefs()

        off = await rt.service.alerts_option(GROUP, ADMIN, ["off"])
        assert off is not None and off.ok
        assert off.text().startswith("Alerts for this chat's watchlist are paused")
        assert (await rt.service.show_alerts(GROUP)).text() == off.text()  # anyone may read
        add_dump(bsky, bsky.handles[TARGET], 300)
        pages = bsky.requests["getFollowers"]
        await due_now(rt, clock, GROUP)
        report = await rt.runner.run_due()
        assert (report.audited, report.alerts, report.skipped) == (0, 0, 1)
        assert bsky.requests["getFollowers"] == pages  # paused: not even re-audited
        assert tg.sent_to(int(GROUP.chat_id)) == []
        (watch,) = await rt.store.in_chat(GROUP)  # the watch is kept...
        assert watch.paused is None
        nxt = await rt.store.due_at(watch.id)  # ...and looked at again next slot
        assert nxt is not None and clock() < nxt <= clock() + 6 * HOUR

        on = await rt.service.alerts_option(GROUP, ADMIN, ["on"])
        assert on is not None and on.text().startswith("Alerts for this chat's watchlist go to")
        await due_now(rt, clock, GROUP)
        report = await rt.runner.run_due()  # compares with the audit before the pause
        assert (report.audited, report.alerts) == (1, 1)
        (alert,) = tg.sent_to(int(GROUP.chat_id))
        assert "new burst of 300 suspicious followers" in alert.text

        # naming a destination (here) also resumes
        await rt.service.pause_alerts(GROUP, ADMIN, True)
        assert (await rt.store.prefs(GROUP)).off
        await rt.service.set_alerts(GROUP, ADMIN, None)
        assert not (await rt.store.prefs(GROUP)).off


async def test_every_sets_the_interval_within_bounds_and_survives_a_restart(
    settings_for: Callable[..., Any],  # noqa: F811
    redis: Any,
    redis_server: Any,
    clock: Any,
) -> None:
    settings = settings_for()
    async with runtime(settings, redis, clock) as rt:
        assert (await rt.service.watch(GROUP, ADMIN, "target.bsky.social")).ok
        assert "every 6 h" in (await rt.service.show_alerts(GROUP)).text()
        for text, problem in (("10m", "between 1 h and 168 h"), ("30d", "between"),
                              ("soon", "like 12h")):  # fmt: skip
            reply = await rt.service.alerts_option(GROUP, ADMIN, ["every", text])
            assert reply is not None and not reply.ok and problem in reply.text()
        assert await rt.store.prefs(GROUP) == ChatPrefs()

        (watch,) = await rt.store.in_chat(GROUP)
        assert watch.last_audit_at is not None
        reply = await rt.service.alerts_option(GROUP, ADMIN, ["every", "1", "d"])
        assert reply is not None and reply.ok and "re-audited every 24 h" in reply.text()
        due = await rt.store.due_at(watch.id)
        assert due is not None and watch.last_audit_at < due <= watch.last_audit_at + 24 * HOUR
        await rt.service.pause_alerts(GROUP, ADMIN, True)
    redis_server.restart()
    async with runtime(settings, redis, clock) as rt:
        assert await rt.store.prefs(GROUP) == ChatPrefs(True, 24 * HOUR)
        await rt.service.pause_alerts(GROUP, ADMIN, False)
        assert await rt.store.prefs(GROUP) == ChatPrefs(False, 24 * HOUR)  # interval kept
        clock.now = due + 1
        assert (await rt.runner.run_due()).audited == 1
        nxt = await rt.store.due_at(watch.id)
        spread = settings.alerts.spread
        assert nxt == next_slot(watch.id, clock(), 24 * HOUR, spread)  # the chat's interval
        # back to the configured interval: the stored choice goes away
        assert (await rt.service.alerts_option(GROUP, ADMIN, ["every", "6h"])) is not None
        assert await rt.store.prefs(GROUP) == ChatPrefs()
        assert await rt.service.alerts_option(GROUP, ADMIN, ["elsewhere"]) is None
