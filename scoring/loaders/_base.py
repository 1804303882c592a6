"""Result and error types shared by every loader."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from scoring.account import Account

__all__ = ["MAX_LINE", "LoadError", "LoadResult", "RowError", "shown"]

#: Longest physical line (in characters) read as one record; a longer line is a RowError.
MAX_LINE: Final = 1 << 20
#: A name from the input that messages show as it is; any other is quoted and escaped.
_PLAIN: Final = re.compile(r"[\w.:@/-]+")


@dataclass(frozen=True, slots=True)
class RowError:
    """One record that could not be read: 1-based line (or record number in a JSON array)."""

    line: int
    message: str


class LoadError(Exception):
    """The input as a whole is unusable (not JSON or CSV, binary, unknown format name)."""


@dataclass
class LoadResult:
    """Every account read, every row skipped, and the format detected (or given)."""

    accounts: list[Account] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    format: str = "auto"
    #: Warnings about the input as a whole (records unlike the format given).
    warnings: list[str] = field(default_factory=list)


def shown(name: object, limit: int = 32) -> str:
    """A name from the input (a key, a column) for a message, cut to ``limit``: as it is when
    it is a plain word, else quoted and escaped like ``repr``, so that a newline or a terminal
    escape in it cannot forge or garble a log line."""
    text = str(name)[:limit]
    return text if _PLAIN.fullmatch(text) else repr(text)
