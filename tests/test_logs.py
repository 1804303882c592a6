"""Where logs go: JSON lines on standard error for the services, a private rotated file for the
console chat (issue 16, item 2)."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.infra.logs import LOG_FILE_MAX_BYTES, console_log_path, private_log_file, setup_logging


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, its handlers and level put back after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield root
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def test_the_console_log_lives_under_xdg_state_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert console_log_path() == tmp_path / "state" / "followaudit" / "console.log"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert console_log_path() == tmp_path / "home/.local/state/followaudit/console.log"


def test_a_log_file_is_private_json_and_rotated(
    tmp_path: Path, root_logger: logging.Logger
) -> None:
    path = tmp_path / "state" / "followaudit" / "console.log"
    setup_logging("info", file=path)
    logging.getLogger("followaudit.test").info("hello", extra={"job": "j1"})
    (handler,) = root_logger.handlers
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert handler.maxBytes == LOG_FILE_MAX_BYTES == 10_000_000
    handler.flush()
    (line,) = path.read_text().splitlines()
    assert json.loads(line) | {"ts": None} == {
        "ts": None, "level": "info", "logger": "followaudit.test", "msg": "hello", "job": "j1",
    }  # fmt: skip
    assert _mode(path.parent) == 0o700 and _mode(path) == 0o600
    handler.doRollover()  # the file opened after a rotation is as private as the first
    assert _mode(path) == 0o600 and _mode(path.with_name("console.log.1")) == 0o600


def test_an_existing_log_file_is_made_private(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir(mode=0o755)
    path = folder / "shared.log"
    path.write_text("")
    path.chmod(0o644)
    private_log_file(path).close()
    assert _mode(path) == 0o600 and _mode(folder) == 0o755  # an existing folder is left alone


def test_a_log_file_that_cannot_be_opened_raises_oserror(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError):
        private_log_file(blocker / "followaudit" / "console.log")
