"""``followaudit audit HANDLE``: fetch a sample of an account's followers, score, report.

The direct audit (no queue, no Redis): the audit use case (``bot.audit.usecase``) on the HTTP
session and model of the composition root (``bot.app.open_core``). Its report is that of
``audit-file`` with ``"subject"`` (the audited account, its normalised handle) and ``"sample"``
(``size`` read, ``of`` the platform's follower count, ``order`` ``"newest_first"``) filled in
from the fetch. Progress goes to standard error and never states a grade; with ``--json``
standard output holds exactly one JSON object. Exit status: 0 done, 1 the model cannot be
loaded, 2 a bad handle, option or setting, 3 a platform error (not found, hidden, rate limited,
unavailable, no follower listed, ...), each with one line on standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bot.commands import load_settings, progress_to_stderr, show_report
from bot.settings import Settings
from bot.sources.errors import BadHandle, SourceError
from bot.sources.handles import Handle, parse_handle

if TYPE_CHECKING:
    from bot.audit.usecase import Audit

log = logging.getLogger("followaudit.audit")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]


def _escape_json(data: dict[str, Any]) -> str:
    """As ``render_json``: ``<``, ``>`` and ``&`` written as ``\\u`` escapes, safe to embed."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _nothing_read(handle: Handle, total: int | None, skipped: int) -> str:
    """Why an audit that read no follower has nothing to report."""
    if skipped:
        return f"{handle}: none of the followers the platform listed could be read."
    if total:
        return f"{handle}: the platform listed none of its {total:,} followers; nothing to audit."
    return f"{handle} has no followers to audit."


def run(args: argparse.Namespace) -> int:
    with progress_to_stderr(log):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.sample is not None and args.sample < 1:
        log.error("--sample must be at least 1, got %d", args.sample)
        return 2
    if args.sample is not None and args.sample > settings.sample.max:
        log.info("--sample %d is above the maximum; reading %d", args.sample, settings.sample.max)
    instance = urlsplit(settings.mastodon.base_url or "").hostname
    try:
        handle = parse_handle(args.handle, settings.default_platform, mastodon_instance=instance)
    except BadHandle as exc:
        log.error("%s", _one_line(str(exc)))
        return 2
    try:
        from scoring.model import ModelError
    except ImportError:
        log.error("model: the scoring model is not installed")
        return 1
    try:
        audit = asyncio.run(_audit(settings, handle, args.sample))
    except ModelError as exc:
        log.error("model: %s", _one_line(str(exc)))
        return 1
    except SourceError as exc:
        log.error("%s", _one_line(str(exc)))
        return 3
    if audit is None:
        return 3

    def as_json() -> str:
        return _escape_json(audit.to_dict())

    return show_report(args, audit.report, audit.probabilities, audit.followers, log, as_json)


async def _audit(settings: Settings, handle: Handle, sample: int | None) -> Audit | None:
    """The audit on the process's HTTP session and model (``bot.app.open_core``); None (after one
    line on standard error) when no follower could be read."""
    from bot.app import open_core
    from bot.audit.usecase import AuditUseCase

    def progress(read: int, target: int) -> None:
        log.info("fetched %d of %d followers", read, target)

    async with open_core(settings) as core:
        audits = AuditUseCase(core.http, settings, core.model)
        started = time.perf_counter()
        fetched, _ = await audits.fetch(handle, sample, progress=progress)
        log.info(
            "read %d of %s followers of %s in %.1f s (%d requests)",
            len(fetched.followers),
            "?" if fetched.followers_total is None else f"{fetched.followers_total:,}",
            handle,
            time.perf_counter() - started,
            fetched.requests,
        )
        if fetched.skipped:
            log.warning("%d follower records could not be read and were skipped", fetched.skipped)
        if not fetched.followers:
            log.error("%s", _nothing_read(handle, fetched.followers_total, fetched.skipped))
            return None
        return await audits.score(fetched)
