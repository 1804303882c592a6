"""Where the labelled data sets are: ``$FOLLOWAUDIT_DATASETS``, else ``<repo>/../shared/datasets``.

They are not part of the repository (``../shared/datasets/README.md`` gives their provenance and
licences); the benchmarks and the evaluation that read them say so in one line when absent.
"""

from __future__ import annotations

import os
from pathlib import Path


def datasets_dir() -> Path:
    """The folder holding ``accounts/*.jsonl``."""
    env = os.environ.get("FOLLOWAUDIT_DATASETS")
    if env:
        return Path(os.path.expandvars(env)).expanduser()
    return Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def missing(what: str) -> str | None:
    """One line saying ``what`` cannot run for lack of the data, or None when it is there."""
    root = datasets_dir()
    if (root / "accounts").is_dir():
        return None
    return (
        f"{what}: no labelled data at {root} (the collections of ../shared/datasets; "
        "set FOLLOWAUDIT_DATASETS to their folder)"
    )
