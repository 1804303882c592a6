"""Process lifetimes. Stopping: SIGINT or SIGTERM to the whole process group (a terminal's
Ctrl-C, a service manager's stop) ends ``worker``, ``chat`` and ``run`` in seconds, with the
embedded Redis reaped (no orphan, its temporary socket directory removed) and with an
unreachable Redis alike; a second signal ends a graceful stop at once. Starting: a chat adapter
that cannot start is retried while the rest of ``followaudit run`` works."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.infra.redis_server import RedisServer, free_port
from bot.infra.runtime import EXIT_INTERRUPTED
from bot.pipeline.resilience import connect
from bot.pipeline.service import AuditService
from bot.settings import Settings
from tests.fakes.bluesky import FakeBluesky
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import REPO_ROOT, spawn_followaudit_run, wait_until
from tests.pipeline_fakes import FakePlatform, request
from tests.test_discord_bot import SUBJECT, populate

TELEGRAM_TOKEN = "424242:SECRET-telegram"
DISCORD_TOKEN = "MTIz.SECRET-discord.token"

#: The brief's bound on a stop, with the whole group signalled.
STOP_WITHIN = 5.0


class Proc:
    """A ``followaudit`` process in its own process group, its stderr collected as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.err = b""
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        while chunk := await self.proc.stderr.read(4096):
            self.err += chunk

    async def wait_log(self, text: str, within: float = 30.0) -> None:
        await wait_until(lambda: text.encode() in self.err, within=within, what=repr(text))

    def signal_group(self, sig: signal.Signals) -> None:
        os.killpg(self.proc.pid, sig)

    async def exit_status(self, within: float) -> int:
        """The exit status, failing unless the process exits within ``within`` seconds."""
        await wait_until(lambda: self.proc.returncode is not None, within=within, what="exit")
        await self._reader
        assert self.proc.returncode is not None
        return self.proc.returncode

    async def close(self) -> None:
        if self.proc.returncode is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        self._reader.cancel()


@pytest.fixture
async def spawn() -> AsyncIterator[object]:
    started: list[Proc] = []

    async def start(*args: str, env: dict[str, str]) -> Proc:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWAUDIT_")}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *args, "--log-level", "info", "--log-file", "-",
            env={**clean, "PYTHONPATH": str(REPO_ROOT), **env}, cwd=str(REPO_ROOT),
            stdin=asyncio.subprocess.PIPE,  # left open: the console chat keeps reading
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )  # fmt: skip
        started.append(Proc(proc))
        return started[-1]

    yield start
    for proc in started:
        await proc.close()


def _redis_pids(where: Path) -> list[int]:
    """redis-server processes whose socket is under ``where`` (redis shows it in its title)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"redis-server" in cmdline and str(where).encode() in cmdline:
                pids.append(int(entry.name))
    return pids


def _embedded_env(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """An embedded Redis whose data directory is too long a path for its socket, so the socket
    lives in a temporary directory (under a private TMPDIR) that must be removed on exit."""
    data_dir = tmp_path / ("d" * 100)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {"FOLLOWAUDIT_REDIS__DATA_DIR": str(data_dir), "TMPDIR": str(tmpdir)}
    return env, data_dir, tmpdir


@pytest.mark.parametrize("command", ["worker", "chat", "run"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_group_signal_stops_the_embedded_setup_and_reaps_redis(
    spawn: object, tmp_path: Path, command: str, sig: signal.Signals
) -> None:
    env, _, tmpdir = _embedded_env(tmp_path)
    proc = await spawn(command, env=env)  # type: ignore[operator]
    await proc.wait_log("worker started")
    assert _redis_pids(tmpdir) and list(tmpdir.glob("fa-redis-*"))
    proc.signal_group(sig)
    status = await proc.exit_status(within=STOP_WITHIN)
    assert status == 0, proc.err.decode()[-2000:]
    assert _redis_pids(tmpdir) == []
    assert list(tmpdir.glob("fa-redis-*")) == []
    assert b"Traceback" not in proc.err


@pytest.mark.parametrize("command", ["worker", "chat", "run"])
async def test_group_signal_stops_a_process_whose_redis_is_unreachable(
    spawn: object, command: str
) -> None:
    proc = await spawn(command, env={"FOLLOWAUDIT_REDIS_URL": "redis://127.0.0.1:1/0"})  # type: ignore[operator]
    await proc.wait_log("redis unavailable, retrying")
    proc.signal_group(signal.SIGTERM)
    status = await proc.exit_status(within=STOP_WITHIN)
    assert status == 0, proc.err.decode()[-2000:]
    assert b"Traceback" not in proc.err


async def test_second_sigint_stops_at_once_during_a_graceful_stop(spawn: object) -> None:
    """A running audit would be waited for (grace 60 s); the second Ctrl-C does not wait."""
    platform = FakePlatform(followers=250)
    await platform.start()
    data_dir = Path(tempfile.mkdtemp(prefix="fa-lc-"))  # short: the socket lives inside
    try:
        proc = await spawn("worker", env={  # type: ignore[operator]
            "FOLLOWAUDIT_REDIS__DATA_DIR": str(data_dir),
            "FOLLOWAUDIT_BLUESKY__BASE_URL": platform.url,
            "FOLLOWAUDIT_WORKER__RUNNER": "tests.pipeline_fakes:build_runner",
            "FOLLOWAUDIT_WORKER__SHUTDOWN_GRACE_SECONDS": "60",
        })  # fmt: skip
        await proc.wait_log("worker started")
        redis = connect(f"unix://{data_dir}/redis.sock?db=0")
        try:
            settings = Settings(_env_file=None, redis_url="redis://127.0.0.1:1/0")  # type: ignore[call-arg]
            platform.hold("slow.test", 100)
            await AuditService.from_settings(redis, settings).submit(request("slow.test"))
            await platform.wait_request("slow.test", 100)
        finally:
            await redis.aclose()
        proc.signal_group(signal.SIGINT)
        await proc.wait_log("waiting for running audits")
        proc.signal_group(signal.SIGINT)
        status = await proc.exit_status(within=2.0)
        assert status == EXIT_INTERRUPTED
        assert _redis_pids(data_dir) == []
        platform.release("slow.test", 100)
    finally:
        await platform.close()
        shutil.rmtree(data_dir)


async def _healthz(port: int) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http:
        try:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                return r.status, await r.json()
        except aiohttp.ClientConnectionError:
            return 0, {}


async def test_run_keeps_working_while_an_adapter_fails_to_start(
    redis_server: RedisServer, redis: Any
) -> None:
    """Telegram's Bot API is unreachable at first and Discord refuses the command sync once:
    both are retried and shown in /healthz, the worker answers a Discord audit meanwhile, and
    Telegram is served once its API comes up."""
    tg_port, ops_port = free_port(), free_port()
    async with FakeDiscord(token=DISCORD_TOKEN) as discord, FakeBluesky() as bsky:
        populate(bsky)
        guild = discord.add_guild("Team")
        discord.fail_next("/commands", status=403, code=50001, message="Missing Access")
        proc = await spawn_followaudit_run({
            "FOLLOWAUDIT_REDIS_URL": redis_server.url,
            "FOLLOWAUDIT_BLUESKY__BASE_URL": bsky.base_url,
            "FOLLOWAUDIT_TELEGRAM__TOKEN": TELEGRAM_TOKEN,
            "FOLLOWAUDIT_TELEGRAM__BASE_URL": f"http://127.0.0.1:{tg_port}",
            "FOLLOWAUDIT_TELEGRAM__POLL_TIMEOUT_SECONDS": "1",
            "FOLLOWAUDIT_DISCORD__TOKEN": DISCORD_TOKEN,
            "FOLLOWAUDIT_DISCORD__API_BASE": discord.api_base,
            "FOLLOWAUDIT_DISCORD__GATEWAY_URL": discord.gateway_url,
            "FOLLOWAUDIT_DISCORD__GUILD_READY_TIMEOUT": "0.1",
            "FOLLOWAUDIT_WORKER__SHUTDOWN_GRACE_SECONDS": "1",
            "FOLLOWAUDIT_WORKER__METRICS_PORT": str(ops_port),
            "PTB_TIMEDELTA": "1",
        })  # fmt: skip
        try:
            health: dict[str, Any] = {}

            async def telegram_failed_and_discord_up() -> bool:
                nonlocal health
                status, health = await _healthz(ops_port)
                parts = health.get("parts", {})
                return bool(
                    status == 503 and parts.get("telegram", {}).get("failures", 0) >= 1
                    and parts.get("discord", {}).get("state") == "running"
                    and parts.get("worker", {}).get("state") == "running"
                )  # fmt: skip

            await wait_until(telegram_failed_and_discord_up, within=30, what="degraded health")
            assert health["parts"]["discord"]["failures"] == 1  # the refused sync, retried
            assert health["ok"] is False and health["parts"]["telegram"]["state"] != "running"
            async with FakeTelegram(token=TELEGRAM_TOKEN, port=tg_port) as tg:
                await discord.wait_ready(30)
                call = await discord.command(
                    "audit", {"handle": SUBJECT}, user=discord.user(4242, "kim"), guild=guild
                )
                final = await discord.next_reply(call, deadline=30)
                while not final.embeds:
                    final = await discord.next_reply(call, deadline=30)
                assert final.embeds[0]["title"].startswith("Grade ")
                await tg.wait_for(lambda: bool(tg.calls_to("getUpdates")), 30)

                async def healthy() -> bool:
                    return (await _healthz(ops_port))[0] == 200

                await wait_until(healthy, within=10, what="healthy")
                proc.send_signal(signal.SIGTERM)
                out, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGKILL)
                await proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    logs = (out + err).decode()
    assert "telegram failed (NetworkError" in logs and "discord failed (Forbidden" in logs
    assert "SECRET" not in logs
