"""The neutral Account shape (shared/account.schema.json): JSON objects and CSV rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from scoring.account import BOOL_FIELDS, COUNT_FIELDS, Account, AccountError
from scoring.loaders._coerce import count, flag

__all__ = ["account_from_neutral", "account_from_neutral_csv", "is_neutral"]

_COUNTS: Final = frozenset((*COUNT_FIELDS, "label"))
_FLAGS: Final = frozenset(BOOL_FIELDS)


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
            raise AccountError(f"{key}: missing cell (fewer cells than header columns)")
        if cell == "":
            typed[key] = None
        elif key in _COUNTS:
            typed[key] = count(cell, key)
        elif key in _FLAGS:
            typed[key] = flag(cell, key)
        else:
            typed[key] = cell
    return account_from_neutral(typed, observed_at=observed_at)
