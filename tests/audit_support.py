"""Synthetic verdicts and validation data for the audit tests (invented, no labelled rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from scoring.account import Account

BASE = datetime(2026, 11, 1, tzinfo=UTC)
CODES = ("follow_ratio", "default_avatar", "no_bio", "young_account", "no_posts", "digits_handle")


@dataclass(frozen=True)
class SynthVerdict:
    platform: str
    id: str
    handle: str | None
    fake_probability: float
    reasons: tuple[str, ...] = ()
    reason_codes: tuple[str, ...] = ()


@dataclass
class SynthBatch:
    probabilities: np.ndarray
    verdicts: list[SynthVerdict] = field(default_factory=list)


def class_hists(bins: int = 20) -> tuple[list[float], list[float]]:
    """Beta(8,2)-like fakes and Beta(1,8)-like genuines, as 20-bin fractions."""
    edges = np.linspace(0, 1, bins + 1)
    mid = (edges[:-1] + edges[1:]) / 2
    pos = mid**7 * (1 - mid)
    neg = (1 - mid) ** 7
    return list(pos / pos.sum()), list(neg / neg.sum())


def synth_validation() -> dict[str, Any]:
    hp, hn = class_hists()
    mid = (np.arange(20) + 0.5) / 20
    prof = {
        "n_pos": 2000,
        "n_neg": 2000,
        "mean_p_pos": float(np.dot(hp, mid)),
        "mean_p_neg": float(np.dot(hn, mid)),
        "tpr": 0.95,
        "fpr": 0.03,
        "hist_pos": hp,
        "hist_neg": hn,
    }
    return {"pooled": prof, "collections": {"a": dict(prof), "b": dict(prof)}}


def synth_probabilities(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """Draw probabilities from the same shapes the synthetic validation describes."""
    n = len(labels)
    return np.where(labels == 1, rng.beta(8, 2, n), rng.beta(1, 8, n)).astype(np.float64)


def synth_audience(
    labels: np.ndarray,
    seed: int = 0,
    *,
    platform: str = "bluesky",
    dates: bool = True,
) -> tuple[list[Account], SynthBatch]:
    rng = np.random.default_rng(seed)
    p = synth_probabilities(rng, labels)
    accounts: list[Account] = []
    verdicts: list[SynthVerdict] = []
    for i, (label, prob) in enumerate(zip(labels, p, strict=True)):
        created = BASE - timedelta(days=int(rng.integers(30, 3000))) if dates else None
        handle = f"user{i}.bsky.social"
        accounts.append(
            Account(
                platform=platform,
                id=f"did:plc:{i}",
                handle=handle,
                created_at=created,
                observed_at=BASE,
                label=int(label),
            )
        )
        codes = tuple(rng.choice(CODES, size=2, replace=False).tolist()) if label else ()
        verdicts.append(
            SynthVerdict(
                platform,
                f"did:plc:{i}",
                handle,
                float(prob),
                tuple(f"{c} reason" for c in codes),
                codes,
            )
        )
    return accounts, SynthBatch(p, verdicts)
