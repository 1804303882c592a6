"""One module per ``followaudit`` sub-command; each is imported only when its command runs."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager


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
