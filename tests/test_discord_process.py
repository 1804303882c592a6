"""``followaudit run`` with a Discord token starts this adapter beside a worker (the real runner,
reading the fake Bluesky AppView): a user's ``/audit`` ends with the report embed, SIGTERM stops
the process cleanly, and neither the bot token nor an interaction token appears in its logs."""

from __future__ import annotations

import asyncio
import os
import signal

from bot.infra.redis_server import RedisServer
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.discord_api import FakeDiscord
from tests.helpers import spawn_followaudit_run
from tests.test_discord_bot import SUBJECT, populate

TOKEN = "MTIz.SECRET-never-logged.discord"


async def test_followaudit_run_serves_discord(redis_server: RedisServer) -> None:
    async with FakeDiscord(token=TOKEN) as fake, FakeBluesky() as bsky:
        populate(bsky)
        guild = fake.add_guild("Team")
        proc = await spawn_followaudit_run(
            {
                "FOLLOWAUDIT_REDIS_URL": redis_server.url,
                "FOLLOWAUDIT_BLUESKY__BASE_URL": bsky.base_url,
                "FOLLOWAUDIT_DISCORD__TOKEN": TOKEN,
                "FOLLOWAUDIT_DISCORD__API_BASE": fake.api_base,
                "FOLLOWAUDIT_DISCORD__GATEWAY_URL": fake.gateway_url,
                "FOLLOWAUDIT_DISCORD__GUILD_READY_TIMEOUT": "0.1",
                "FOLLOWAUDIT_WORKER__SHUTDOWN_GRACE_SECONDS": "1",
            }
        )
        try:
            await fake.wait_ready(30)
            await fake.wait_for(lambda: None in fake.commands, 10)
            call = await fake.command(
                "audit", {"handle": SUBJECT}, user=fake.user(4242, "kim"), guild=guild
            )
            assert (await fake.next_reply(call, deadline=10)).callback_type == 5
            final = await fake.next_reply(call, deadline=30)
            while not final.embeds:
                final = await fake.next_reply(call, deadline=30)
            assert final.embeds[0]["title"].startswith("Grade ")
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGKILL)
                await proc.communicate()
        assert proc.returncode == 0, err.decode()[-2000:]
        logs = (out + err).decode()
        assert "SECRET-never-logged" not in logs
        assert call.token not in logs  # interaction tokens are secrets too
