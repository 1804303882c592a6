"""A process that cannot start its embedded Redis says why in one line naming the setting, exit 2,
never a traceback; ``~`` and ``$VARIABLES`` in path settings are expanded (issue 16, item 3)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWAUDIT_")}
    return {**env, "PYTHONPATH": str(REPO_ROOT), **settings}


def _followaudit(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True, text=True, timeout=60, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("followaudit: cannot start the embedded Redis: ")
    return line


COMMANDS = [["worker"], ["chat"], ["run"], ["alerts", "run-due"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_no_redis_server_and_no_url_is_one_line(command: list[str], tmp_path: Path) -> None:
    env = _env(FOLLOWAUDIT_REDIS__BINARY="no-such-redis-server",
               FOLLOWAUDIT_REDIS__DATA_DIR=str(tmp_path / "redis"))  # fmt: skip
    line = _one_line(_followaudit(*command, env=env, cwd=tmp_path))
    assert "FOLLOWAUDIT_REDIS__BINARY" in line and "FOLLOWAUDIT_REDIS_URL" in line
    assert "apt-get install redis-server" in line


def test_a_data_dir_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    env = _env(FOLLOWAUDIT_REDIS__DATA_DIR=str(tmp_path / "file" / "redis"))
    line = _one_line(_followaudit("worker", env=env, cwd=tmp_path))
    assert "FOLLOWAUDIT_REDIS__DATA_DIR" in line and str(tmp_path / "file" / "redis") in line


def test_a_redis_server_that_exits_at_start_says_its_last_words(tmp_path: Path) -> None:
    data_dir = tmp_path / "redis"
    data_dir.mkdir()
    (data_dir / "appendonly.aof").write_text("not an append-only file\n")
    line = _one_line(_followaudit("chat", env=_env(FOLLOWAUDIT_REDIS__DATA_DIR=str(data_dir)),
                                  cwd=tmp_path))  # fmt: skip
    assert "redis-server exited with status" in line and "FOLLOWAUDIT_REDIS__DATA_DIR" in line
    assert "append only file" in line.lower()


async def test_a_data_dir_under_home_is_expanded_not_a_literal_tilde(tmp_path: Path) -> None:
    """``FOLLOWAUDIT_REDIS__DATA_DIR=~/fa-redis`` as copied from config/pipeline.env.example."""
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "worker", env=_env(
            HOME=str(home), FOLLOWAUDIT_REDIS__DATA_DIR="~/fa-redis"),
        cwd=cwd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        async with asyncio.timeout(30):
            while b"worker started" not in (line := await proc.stderr.readline()):
                assert line, "the worker exited before it started"
        assert (home / "fa-redis").is_dir() and list(cwd.iterdir()) == []
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            await proc.communicate()
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


def test_redis_6_with_a_redis_7_data_dir_refuses_in_one_line(tmp_path: Path) -> None:
    from tests.test_redis_server import _fake_redis_6

    fake, starts = _fake_redis_6(tmp_path)
    data_dir = tmp_path / "redis"
    (data_dir / "appendonlydir").mkdir(parents=True)
    env = _env(FOLLOWAUDIT_REDIS__BINARY=str(fake), FOLLOWAUDIT_REDIS__DATA_DIR=str(data_dir))
    line = _one_line(_followaudit("run", env=env, cwd=tmp_path))
    assert "appendonlydir" in line and "would start empty" in line and not starts.exists()
