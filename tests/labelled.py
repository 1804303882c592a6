"""The labelled collections of ``<repo>/../shared/datasets`` (or ``$FOLLOWAUDIT_DATASETS``), read
at test time; tests that need them skip when the folder is absent."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from scoring.account import Account

DATA = Path(
    os.environ.get("FOLLOWAUDIT_DATASETS")
    or Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
)
FILE = DATA / "accounts" / "cresci-2017.jsonl"
#: Why a test that reads the labelled data skipped; the test summary counts these.
ABSENT = "labelled data absent (../shared/datasets, or set FOLLOWAUDIT_DATASETS)"
#: Marks a test (or module) that reads the labelled data sets.
needs_data = pytest.mark.skipif(not (DATA / "accounts").is_dir(), reason=ABSENT)


def rows(label: int, n: int, seed: int) -> list[Account]:
    """``n`` distinct Cresci-2017 accounts with ``label``, drawn with ``seed``."""
    with FILE.open(encoding="utf-8") as handle:
        picked = [d for d in map(json.loads, handle) if d.get("label") == label]
    rng = np.random.default_rng(seed)
    return [Account.from_dict(picked[i]) for i in rng.choice(len(picked), n, replace=False)]


def collection(name: str) -> list[Account]:
    """Every account of one collection file (``accounts/<name>.jsonl``)."""
    with (DATA / "accounts" / f"{name}.jsonl").open(encoding="utf-8") as handle:
        return [Account.from_dict(json.loads(line)) for line in handle if line.strip()]
