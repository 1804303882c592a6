"""Labelled accounts out to training: the shared account shape with ``label`` (1 fake, 0
genuine) and ``source`` (``review/<platform>``). Accounts reviewers labelled both ways are left
out and counted; ``unsure`` ones are left out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.review.service import LabelledAccount

__all__ = ["Export", "export_rows"]


@dataclass(frozen=True, slots=True)
class Export:
    rows: list[dict[str, Any]]
    #: Accounts labelled fake by one reviewer and genuine by another.
    conflicts: int
    unsure: int


def export_rows(labelled: Sequence[LabelledAccount]) -> Export:
    rows: list[dict[str, Any]] = []
    conflicts = unsure = 0
    for item in labelled:
        if item.label is None:
            conflicts += 1
        elif item.label == "unsure":
            unsure += 1
        else:
            account = replace(
                item.account,
                label=int(item.label == "fake"),
                source=f"review/{item.account.platform}",
            )
            rows.append(account.to_dict())
    return Export(rows, conflicts, unsure)
