"""Stopping the real processes: SIGINT or SIGTERM to the whole process group (a terminal's
Ctrl-C, a service manager's stop) ends ``worker``, ``chat`` and ``run`` in seconds, with the
embedded Redis reaped (no orphan, its temporary socket directory removed) and with an
unreachable Redis alike; a second signal ends a graceful stop at once."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.pipeline.resilience import connect
from bot.pipeline.service import AuditService
from bot.runtime import EXIT_INTERRUPTED
from bot.settings import Settings
from tests.helpers import REPO_ROOT, wait_until
from tests.pipeline_fakes import FakePlatform, request

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
            sys.executable, "-m", "bot.cli", *args, "--log-level", "info",
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
