"""The neutral Account shape (shared/account.schema.json): JSON objects and CSV rows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from scoring.account import (
    BOOL_FIELDS,
    COUNT_FIELDS,
    DATE_FIELDS,
    TEXT_FIELDS,
    Account,
    AccountError,
)
from scoring.loaders._base import shown
from scoring.loaders._coerce import count, flag

__all__ = ["account_from_neutral", "account_from_neutral_csv", "is_neutral"]

_COUNTS: Final = frozenset((*COUNT_FIELDS, "label"))
_FLAGS: Final = frozenset(BOOL_FIELDS)
_TEXT_COLUMNS: Final = frozenset(("platform", "id", "source", *TEXT_FIELDS, *DATE_FIELDS))
_WHOLE = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")


def is_neutral(obj: Mapping[str, Any]) -> bool:
    """A neutral row names its ``platform``."""
    return "platform" in obj


def account_from_neutral(obj: Mapping[str, Any], *, observed_at: datetime | None) -> Account:
    """One neutral JSON object; ``observed_at`` fills a row that has none."""
    if observed_at is not None and isinstance(obj, Mapping) and obj.get("observed_at") is None:
        obj = {**obj, "observed_at": observed_at}
    return Account.from_dict(obj)


def account_from_neutral_csv(row: Mapping[str, str], *, observed_at: datetime | None) -> Account:
    """One CSV row whose columns are neutral field names: cells are typed, empty is null."""
    typed: dict[str, Any] = {}
    for key, cell in row.items():
        if key is None:
            raise AccountError("more cells than header columns")
        if cell is None:
            raise AccountError(f"{shown(key)}: missing cell (fewer cells than header columns)")
        if cell == "":
            typed[key] = None
        elif key in _COUNTS:
            typed[key] = count(cell, key)
        elif key in _FLAGS:
            typed[key] = flag(cell, key)
        elif key in _TEXT_COLUMNS:
            typed[key] = cell
        else:
            typed[key] = _extra(cell)
    return account_from_neutral(typed, observed_at=observed_at)


def _extra(cell: str) -> Any:
    """An extra column's cell: whole numbers and true/false typed, anything else kept as text
    (so ``bio_length`` reads as 40 but a code like ``007`` stays ``"007"``)."""
    if _WHOLE.fullmatch(cell):
        return int(cell)
    if cell in ("true", "false"):
        return cell == "true"
    return cell
