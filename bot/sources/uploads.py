"""Uploaded follower exports: CSV, JSON or JSON Lines bytes in any format the loaders read.

This is how Instagram, TikTok and other platforms without a follower API get audited. The size is
bounded, the text must be UTF-8, parsing runs in a worker thread (it is CPU work), and rows that
cannot be read are counted and the first few reasons kept for the report.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from datetime import UTC, datetime
from typing import Final

from bot.settings import Settings
from bot.sources.base import FetchResult
from bot.sources.errors import BadUpload
from bot.sources.handles import Handle
from scoring.account import Account
from scoring.loaders import LoadError, LoadResult, load_accounts

__all__ = ["MAX_PROBLEMS", "ORDER", "read_upload"]

MAX_PROBLEMS: Final = 5
#: An export's order is whatever the file says; the report must not claim newest first.
ORDER: Final = "as_uploaded"
_SAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")

log = logging.getLogger(__name__)


def _safe_name(name: str) -> str:
    cleaned = _SAFE_NAME.sub("_", name)[:64].strip("._") or "upload"
    return cleaned


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.0f} MB" if n >= 1_000_000 else f"{n // 1000} kB"


async def read_upload(
    data: bytes,
    settings: Settings,
    *,
    name: str = "upload",
    format: str = "auto",
    sample: int | None = None,
) -> FetchResult:
    """Read an uploaded export into a ``FetchResult`` (``followers_total`` = records in it)."""
    limit = settings.uploads.max_bytes
    if len(data) > limit:
        raise BadUpload(f"That file is too large; the limit is {_mb(limit)}.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadUpload("That file is not UTF-8 text (CSV, JSON or JSON Lines).") from None
    if not text.strip():
        raise BadUpload("That file is empty.")
    max_rows = settings.uploads.max_rows
    if sample is not None:
        max_rows = max(1, min(int(sample), max_rows))
    observed = datetime.now(UTC)
    try:
        loaded: LoadResult = await asyncio.to_thread(
            load_accounts, text, format, observed_at=observed, max_rows=max_rows
        )
    except LoadError as exc:
        raise BadUpload(f"That file could not be read: {str(exc)[:200]}") from None
    except Exception:  # a loader bug: reading the same bytes again would fail the same way
        log.exception("reading an upload failed")
        raise BadUpload("That file could not be read.") from None
    if not loaded.accounts:
        reason = (
            f" (line {loaded.errors[0].line}: {loaded.errors[0].message[:160]})"
            if (loaded.errors)
            else ""
        )
        raise BadUpload(f"No follower profile in that file could be read{reason}.")
    platforms = Counter(a.platform for a in loaded.accounts)
    platform = platforms.most_common(1)[0][0]
    safe = _safe_name(name)
    subject = Account(platform=platform, id=f"upload:{safe}", handle=safe, observed_at=observed)
    errors = loaded.errors
    # With max_rows the loaders add one last RowError saying where reading stopped.
    truncated = len(loaded.accounts) + len(errors) > max_rows
    problems = [f"line {e.line}: {e.message[:200]}" for e in errors[:MAX_PROBLEMS]]
    if (
        truncated
        and len(problems) < MAX_PROBLEMS + 1
        and errors[-1].line
        and (f"line {errors[-1].line}: {errors[-1].message[:200]}" not in problems)
    ):
        problems.append(f"line {errors[-1].line}: {errors[-1].message[:200]}")
    return FetchResult(
        handle=Handle(platform, safe),
        subject=subject,
        followers=loaded.accounts,
        followers_total=None if truncated else len(loaded.accounts) + len(errors),
        order=ORDER,
        requests=0,
        complete=not truncated,
        skipped=len(errors) - (1 if truncated else 0),
        problems=problems,
    )
