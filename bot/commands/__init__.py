"""One module per ``followaudit`` sub-command; each is imported only when its command runs."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from bot.settings import Settings
    from scoring.account import Account
    from scoring.audit import AuditReport
    from scoring.model import FloatArray


class SettingsError(Exception):
    """The settings (environment, ``.env``) are invalid; the message is one line naming them."""


class StartError(Exception):
    """A process cannot start as configured (no redis-server, an unusable data directory or log
    file): one line naming the setting or option and what to do; exit status 2."""


@contextmanager
def embedded_redis_errors() -> Iterator[None]:
    """The embedded Redis failing to start (no binary, an unusable data directory, a server
    that exits) becomes a StartError: one line, not a traceback."""
    from bot.infra.redis_server import RedisServerError

    try:
        yield
    except RedisServerError as exc:
        raise StartError(f"cannot start the embedded Redis: {exc}") from None


def load_settings() -> Settings:
    """The settings of a command's process; invalid ones raise SettingsError (exit status 2)."""
    from pydantic import ValidationError

    from bot.settings import Settings, SourceParseError, invalid_settings

    try:
        return Settings()
    except (ValidationError, SourceParseError) as exc:
        raise SettingsError(invalid_settings(exc)) from None


def write_chart(
    path: str,
    probabilities: Sequence[float] | FloatArray,
    created: Sequence[datetime | None],
    report: AuditReport,
    log: logging.Logger,
) -> int:
    """Write the report's chart (titled) to ``path`` after the report was printed: 0, or 2 with
    one line naming ``--chart`` when it cannot be written (the report stands)."""
    from scoring.audit.chart import render_chart
    from scoring.audit.render import chart_title

    target = Path(os.path.expandvars(path)).expanduser()
    png = render_chart(probabilities, created, report.bursts, title=chart_title(report))
    try:
        target.write_bytes(png)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        log.error(
            "--chart %s: cannot write the chart (%s); the report above is complete", path, reason
        )
        return 2
    log.info("chart written to %s", target)
    return 0


def show_report(
    args: argparse.Namespace,
    report: AuditReport,
    probabilities: Sequence[float] | FloatArray,
    accounts: Sequence[Account],
    log: logging.Logger,
    as_json: Callable[[], str],
) -> int:
    """Print the report (``as_json()`` with ``--json``, else rendered as ``--render`` says), then
    write its ``--chart``: 0, or 2 as ``write_chart``."""
    from scoring.audit import render_html, render_markdown, render_text

    if args.json:
        out = as_json()
    else:
        renderer = {"text": render_text, "markdown": render_markdown, "html": render_html}
        out = renderer[args.render](report, limit=None)
    sys.stdout.write(out + "\n")
    sys.stdout.flush()
    if args.chart:
        created = [a.created_at for a in accounts]
        return write_chart(args.chart, probabilities, created, report, log)
    return 0


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
