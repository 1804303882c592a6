"""Structured logs on the standard library: one JSON object a line (on stderr for the services, in
a private rotated file for the console chat), with context (job id, platform) bound per asyncio
task through a context variable."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["bind", "bound", "console_log_path", "private_log_file", "setup_logging"]

#: A log file is rotated at this size, keeping this many old files (``console.log.1`` ...).
LOG_FILE_MAX_BYTES = 10_000_000
LOG_FILE_BACKUPS = 3

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "followaudit_log_context", default=None
)
_QUIET = ("matplotlib", "PIL")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def bound() -> dict[str, Any]:
    return dict(_context.get() or {})


@contextlib.contextmanager
def bind(**fields: Any) -> Iterator[None]:
    """Add fields to every log line written in this task (and tasks it starts) inside the block."""
    token = _context.set({**bound(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in bound().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def console_log_path() -> Path:
    """Where the console chat logs unless ``--log-file`` says: ``$XDG_STATE_HOME/followaudit/
    console.log`` (``~/.local/state/...``), so the conversation owns the terminal."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local/state")
    return Path(base) / "followaudit" / "console.log"


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Opens every file it writes (the first and each after a rotation) readable by us alone:
    logs quote handles, chats and users."""

    def _open(self) -> Any:
        return open(
            self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors,
            opener=_private,
        )  # fmt: skip


def private_log_file(path: str | Path) -> logging.Handler:
    """A handler appending to ``path`` (``~`` and ``$VARIABLES`` expanded), rotated at
    ``LOG_FILE_MAX_BYTES``. A missing directory is created 0700, the file is 0600. Raises
    OSError when the file cannot be opened."""
    target = Path(os.path.expandvars(str(path))).expanduser()
    if not target.parent.is_dir():
        target.parent.mkdir(parents=True, mode=0o700)
    handler = _PrivateRotatingFileHandler(
        target, maxBytes=LOG_FILE_MAX_BYTES, backupCount=LOG_FILE_BACKUPS, encoding="utf-8"
    )
    os.chmod(target, 0o600)  # a file left by an older version, or created by someone else
    return handler


def setup_logging(
    level: str = "INFO", *, json_lines: bool = True, file: str | Path | None = None
) -> None:
    """Configure the root logger once per process (the command that starts it calls this): to
    standard error, or with ``file`` to that file (``private_log_file``; OSError when it cannot
    be opened)."""
    handler = logging.StreamHandler(sys.stderr) if file is None else private_log_file(file)
    handler.addFilter(_ContextFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries whose debug lines are noise even when debugging us (matplotlib logs each font
    # it scores, hundreds of lines a chart).
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
