"""The composition root (``bot.app``): ``followaudit run`` with Telegram AND Discord configured
builds exactly one audit service, one watch service and one HTTP session (and loads the model
once), and every part it starts (worker, alerts scheduler, both bots) holds those very objects.

Driven in-process through the coroutine ``followaudit run`` itself runs
(``bot.commands.pipeline._run``), on the suite's real redis-server, the fake Telegram Bot API,
the fake Discord gateway and REST API and the fake Bluesky AppView; one audit through each bot
first, so that whatever a part would build lazily is built. The objects are counted among every
live object of the process (``gc``), never by patching our code."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from bot.alerts.service import WatchService
from bot.app import App
from bot.audit.runner import PlatformAuditRunner
from bot.commands.pipeline import _run
from bot.discord.client import AuditBot
from bot.pipeline.service import AuditService
from bot.settings import Settings
from bot.telegram.adapter import TelegramAdapter
from scoring.model import Model
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import wait_until
from tests.test_discord_bot import SUBJECT, populate

COUNTED = (App, AuditService, WatchService, aiohttp.ClientSession, Model, PlatformAuditRunner,
           TelegramAdapter, AuditBot)  # fmt: skip


def live(kind: type) -> list[Any]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, kind)]


def new_since(before: dict[type, list[Any]], kind: type) -> list[Any]:
    return [o for o in live(kind) if not any(o is b for b in before[kind])]


async def test_run_with_both_bots_builds_one_of_each_and_every_part_shares_them(
    monkeypatch: pytest.MonkeyPatch, make_settings: Callable[..., Settings]
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    async with FakeTelegram() as tg, FakeDiscord() as dc, FakeBluesky() as bsky:
        populate(bsky)
        guild = dc.add_guild("Team")
        settings = make_settings(
            telegram={"token": tg.token, "base_url": tg.base_url, "poll_timeout_seconds": 2},
            discord={"token": dc.token, "api_base": dc.api_base,
                     "gateway_url": dc.gateway_url, "guild_ready_timeout": 0.05},
            bluesky={"base_url": bsky.base_url, "max_retries": 0},
            worker={"progress_interval_seconds": 0, "shutdown_grace_seconds": 1},
        )  # fmt: skip
        before = {kind: live(kind) for kind in COUNTED}
        stop = asyncio.Event()
        run = asyncio.create_task(_run(settings, ["telegram", "discord"], stop))
        try:
            await wait_until(lambda: run.done() or new_since(before, App), 30, "the root")
            assert not run.done(), run.result()
            (app,) = new_since(before, App)
            parts = {"worker", "alerts", "telegram", "discord"}
            await wait_until(lambda: set(app.health.report()) == parts and app.health.ok, 30,
                             "every part running")  # fmt: skip

            # one audit through each bot, so that every part has done its work once
            call = await dc.command("audit", {"handle": SUBJECT}, user=dc.user(4242, "kim"),
                                    guild=guild)  # fmt: skip
            reply = await dc.next_reply(call, deadline=30)
            while not reply.embeds:
                reply = await dc.next_reply(call, deadline=30)
            assert reply.embeds[0]["title"].startswith("Grade ")
            lee = tg.user(3001, "Lee")
            tg.inject_command(tg.private_chat(lee), lee, f"/audit bsky:{SUBJECT} fresh")
            first = await tg.next_sent(lee["id"], methods={"sendMessage"}, deadline=20)
            await tg.wait_for(
                lambda: "Grade" in str(tg.message(lee["id"], first.message_id).get("text")), 30
            )

            built = {kind: new_since(before, kind) for kind in COUNTED}
            assert built[AuditService] == [app.audit]
            assert built[WatchService] == [app.alerts.service]
            # the packaged model is cached for the whole process: none other may appear
            assert all(m is app.model for m in built[Model])
            (runner,) = built[PlatformAuditRunner]
            (adapter,) = built[TelegramAdapter]
            (bot,) = built[AuditBot]
            # our one HTTP session; the only other is discord.py's own, to the Discord API
            discord_own = bot.http._HTTPClient__session  # type: ignore[attr-defined]
            assert {id(s) for s in built[aiohttp.ClientSession]} == {id(app.http),
                                                                     id(discord_own)}  # fmt: skip
            assert discord_own is not app.http

            # every part holds the root's objects
            assert runner.session is app.http and runner.budgets is app.budgets
            assert runner.uploads is app.audit.uploads and runner._model is app.model
            assert adapter.service is app.audit and adapter.watches is app.alerts.service
            assert bot.service is app.audit and bot.watches is app.alerts.service
            assert bot.state is app.chat_states["discord"]
            auditor = app.alerts.service.auditor
            assert auditor is app.alerts.runner.auditor
            assert auditor.session is app.http and auditor.model is app.model  # type: ignore[attr-defined]
            assert all(p.session is app.http for n, p in app.alerts.runner.posters.items()
                       if n != "console")  # fmt: skip
            assert {"telegram", "discord"} <= set(app.alerts.runner.posters)
        finally:
            stop.set()
            assert await asyncio.wait_for(run, 30) == 0
        assert app.http.closed
