"""``followaudit run`` with a Telegram token starts this adapter beside a worker (the real runner,
reading the fake Bluesky AppView) and the alerts scheduler: a user's ``/audit`` is answered with
a report, a due watch is re-audited, SIGTERM stops the process cleanly, and the token never
appears in its logs."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from bot.alerts.model import ChatRef, Watch
from bot.alerts.store import WatchStore
from bot.infra.redis_server import RedisServer
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import spawn_followaudit_run, wait_until
from tests.test_telegram_bot import fill_bluesky


async def test_followaudit_run_serves_telegram(
    monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer, redis: Any
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    store = WatchStore(redis)
    watch = Watch("bluesky", "alice.bsky.social", ChatRef("telegram", "-1001"), 5.0, 0.0)
    assert await store.add(watch, due=0.0, max_chat=5, max_server=5) == "added"
    async with FakeTelegram(token="424242:SECRET-never-logged") as tg, FakeBluesky() as bsky:
        fill_bluesky(bsky)
        proc = await spawn_followaudit_run(
            {
                "FOLLOWAUDIT_REDIS_URL": redis_server.url,
                "FOLLOWAUDIT_BLUESKY__BASE_URL": bsky.base_url,
                "FOLLOWAUDIT_TELEGRAM__TOKEN": tg.token,
                "FOLLOWAUDIT_TELEGRAM__BASE_URL": tg.base_url,
                "FOLLOWAUDIT_TELEGRAM__POLL_TIMEOUT_SECONDS": "2",
                "FOLLOWAUDIT_WORKER__SHUTDOWN_GRACE_SECONDS": "1",
                "PTB_TIMEDELTA": "1",
            }
        )
        try:
            await tg.wait_for(lambda: bool(tg.calls_to("getUpdates")), 30)
            kim = tg.user(3001, "Kim")
            tg.inject_command(tg.private_chat(kim), kim, "/audit bsky:alice.bsky.social")
            first = await tg.next_sent(kim["id"], methods={"sendMessage"}, deadline=20)

            def reported() -> bool:
                return "Grade" in str(tg.message(kim["id"], first.message_id).get("text"))

            await tg.wait_for(reported, 30)

            async def re_audited() -> bool:  # by the scheduler inside ``followaudit run``
                return len(await store.history(watch.id)) == 1

            await wait_until(re_audited, within=30, what="the scheduler's re-audit")
            assert tg.commands, "the commands were registered with setMyCommands"
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGKILL)
                await proc.communicate()
        assert proc.returncode == 0, err.decode()[-2000:]
        logs = (out + err).decode()
        assert "SECRET-never-logged" not in logs
        assert "telegram bot @followaudit_test_bot running" in logs
        assert "alerts scheduler running" in logs
