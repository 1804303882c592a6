"""Every input format the scorer reads, detected by content, one Account or RowError a record.

Formats: ``accounts`` (neutral JSON Lines, JSON array or CSV), ``twitter-v1`` (API v1.1 user
objects, research CSV dumps), ``x-v2``, ``bluesky``, ``mastodon`` and ``instafake``. A source is
the text itself (``str``), an open text file, or any iterable of lines. Nothing here opens
files or touches the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from scoring.account import Account
from scoring.loaders._base import MAX_LINE, LoadError, LoadResult, RowError
from scoring.loaders._read import FORMATS, Reader, Source

__all__ = [
    "FORMATS",
    "MAX_LINE",
    "LoadError",
    "LoadResult",
    "Reader",
    "RowError",
    "Source",
    "iter_accounts",
    "load_accounts",
]


def iter_accounts(
    source: Source, format: str = "auto", *, observed_at: datetime | None = None
) -> Iterator[Account | RowError]:
    """Yield each record as an Account, or a RowError for a record that cannot be read.

    ``observed_at`` is the snapshot time for records that carry none (API fetches); it never
    overrides a record's own. Raises LoadError (possibly after some records) when the input
    as a whole is unusable.
    """
    return iter(Reader(source, format, observed_at))


def load_accounts(
    source: Source,
    format: str = "auto",
    *,
    observed_at: datetime | None = None,
    max_rows: int | None = None,
) -> LoadResult:
    """Read a whole input. With ``max_rows``, stop after that many records (accounts and
    errors); a final RowError then says where reading stopped, so nothing is dropped silently.
    """
    reader = Reader(source, format, observed_at)
    result = LoadResult(format=reader.format)
    accounts, errors = result.accounts, result.errors
    add_account, add_error = accounts.append, errors.append
    limit = -1 if max_rows is None else max(0, max_rows)
    for seen, item in enumerate(reader):
        if seen == limit:
            line = item.line if isinstance(item, RowError) else reader.position
            add_error(RowError(line, f"stopped after {limit} records (max_rows); rest not read"))
            break
        if type(item) is Account:
            add_account(item)
        else:
            assert isinstance(item, RowError)
            add_error(item)
    result.format = reader.format
    warning = reader.format_warning()
    if warning:
        result.warnings.append(warning)
    return result
