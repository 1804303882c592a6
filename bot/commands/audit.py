"""``followaudit audit HANDLE``: fetch a sample of an account's followers, score, report.

The direct audit (no queue): the same report as ``audit-file``, with ``"subject"`` (the audited
account, its normalised handle) and ``"sample"`` (``size`` read, ``of`` the platform's follower
count, ``order`` ``"newest_first"``) filled in from the fetch. Progress goes to standard error
and never states a grade; with ``--json`` standard output holds exactly one JSON object.
Exit status: 0 done, 1 the model cannot be loaded, 2 a bad handle or option, 3 a platform error
(not found, hidden, rate limited, unavailable, no follower listed, ...), each with one line on
standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from bot.commands import load_settings, progress_to_stderr, show_report
from bot.settings import Settings
from bot.sources.errors import BadHandle, SourceError
from bot.sources.handles import Handle, parse_handle

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


async def _fetch(handle: Handle, settings: Settings, sample: int | None) -> Any:
    import aiohttp

    from bot.sources import HTTP_HEADERS, source_for

    def progress(read: int, target: int) -> None:
        log.info("fetched %d of %d followers", read, target)

    async with aiohttp.ClientSession(headers=HTTP_HEADERS) as session:
        source = source_for(handle.platform, session, settings)
        return await source.fetch(handle, sample=sample, progress=progress)


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
    started = time.perf_counter()
    try:
        result = asyncio.run(_fetch(handle, settings, args.sample))
    except SourceError as exc:
        log.error("%s", _one_line(str(exc)))
        return 3
    log.info(
        "read %d of %s followers of %s in %.1f s (%d requests)",
        len(result.followers),
        "?" if result.followers_total is None else f"{result.followers_total:,}",
        handle,
        time.perf_counter() - started,
        result.requests,
    )
    if result.skipped:
        log.warning("%d follower records could not be read and were skipped", result.skipped)
    if not result.followers:
        log.error("%s", _nothing_read(handle, result.followers_total, result.skipped))
        return 3

    from scoring.audit import AuditConfig, score_and_report

    try:
        from scoring.model import ModelError, load_model
    except ImportError:
        log.error("model: the scoring model is not installed")
        return 1
    try:
        model = load_model(None)
    except ModelError as exc:
        log.error("model: %s", _one_line(str(exc)))
        return 1
    scored, report = score_and_report(
        result.followers,
        model,
        config=AuditConfig(),
        total=result.followers_total,
        subject=handle.handle,
        platform=handle.platform,
    )

    def as_json() -> str:
        data = report.to_dict()
        data["subject"] = result.subject_block()
        data["sample"] = {
            **data["sample"],
            "size": len(result.followers),
            "of": result.followers_total,
            "order": result.order,
        }
        data["requests"] = result.requests
        data["skipped"] = result.skipped
        return _escape_json(data)

    return show_report(args, report, scored.probabilities, result.followers, log, as_json)
