"""One module per ``followaudit`` sub-command; each is imported only when its command runs."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings


class SettingsError(Exception):
    """The settings (environment, ``.env``) are invalid; the message is one line naming them."""


def load_settings() -> Settings:
    """The settings of a command's process; invalid ones raise SettingsError (exit status 2)."""
    from pydantic import ValidationError

    from bot.settings import Settings, SourceParseError, invalid_settings

    try:
        return Settings()
    except (ValidationError, SourceParseError) as exc:
        raise SettingsError(invalid_settings(exc)) from None


@contextmanager
def progress_to_stderr(log: logging.Logger) -> Iterator[None]:
    """Send ``log``'s INFO lines, bare, to standard error for one command's run (standard output
    stays for the report)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
