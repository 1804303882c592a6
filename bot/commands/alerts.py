"""``followaudit alerts run-due [--all]``: run every re-audit due now (``--all``: every watch),
post the alerts with the settings ``followaudit run`` uses, and exit once every alert has been
accepted by its chat platform. Never reads chat updates, so it can run beside ``followaudit run``.

Exit status: 0 done; 1 an alert was not accepted by its chat (it is tried again next run); 3 a
re-audit failed at the platform (retried later with backoff).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.commands import embedded_redis_errors, load_settings
from bot.settings import Settings


def run(args: argparse.Namespace) -> int:
    from bot.infra.logs import setup_logging

    setup_logging(args.log_level)
    settings = load_settings()
    with embedded_redis_errors():
        return asyncio.run(_run_due(settings, all_watches=args.all))


async def _run_due(settings: Settings, *, all_watches: bool) -> int:
    from bot.app import open_app

    async with open_app(settings) as app:
        report = await app.alerts.runner.run_due(all_watches=all_watches)
    sys.stderr.write(
        f"re-audited {report.audited}, alerts {report.alerts} (digests {report.digests}), "
        f"notices {report.notices}, failed re-audits {report.failed}, "
        f"alerts not accepted {report.unposted}\n"
    )
    if report.unposted:
        return 1
    return 3 if report.failed else 0
