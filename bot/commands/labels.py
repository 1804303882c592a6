"""``followaudit labels export [--platform P] [--output FILE|-]``: the reviewers' labels as JSON
Lines in the shared account shape (``label`` 1 fake, 0 genuine; ``source`` ``review/<platform>``),
for ``python -m scoring.train --extra FILE``. Accounts labelled both ways by different reviewers
are left out and counted on standard error, as are ``can't tell`` ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.commands import StartError, embedded_redis_errors, load_settings
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.review import Export

#: How long the command waits for an unreachable Redis before it gives up (exit status 2).
REDIS_PATIENCE_SECONDS = 10.0


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    with embedded_redis_errors():
        export = asyncio.run(_export(settings, args.platform))
    text = "".join(
        json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in export.rows
    )
    if args.output in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        target = Path(os.path.expandvars(args.output)).expanduser()
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            print(f"followaudit: --output {args.output}: cannot write ({reason})", file=sys.stderr)
            return 2
    print(
        f"{len(export.rows):,} labelled accounts written; left out: {export.conflicts:,} "
        f"labelled both ways by different reviewers, {export.unsure:,} can't tell",
        file=sys.stderr,
    )
    return 0


async def _export(settings: Settings, platform: str | None) -> Export:
    from bot.infra.runtime import open_redis
    from bot.pipeline.resilience import TRANSIENT
    from bot.review import ReviewService, ReviewStore, export_rows

    try:
        async with open_redis(settings) as redis:
            store = ReviewStore(redis, settings.redis.prefix, give_up_after=REDIS_PATIENCE_SECONDS)
            service = ReviewService(store, settings.review)
            return export_rows(await service.labelled(platform))
    except TRANSIENT as exc:
        raise StartError(f"cannot reach Redis (FOLLOWAUDIT_REDIS_URL): {exc}") from None
