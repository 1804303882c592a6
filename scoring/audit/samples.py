"""Pick the most telling suspicious accounts, varied over reason kinds, and count reasons.

The pick is greedy: each step takes the account with the best score, where the score is its fake
probability, nudged up for more reasons and down for every already-picked account that shares its
main reason kind or its other kinds. Five accounts flagged for five different reasons tell a user
more than five copies of the same one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from scoring.audit.types import VerdictLike
from scoring.model import ScoredAccount

__all__ = ["MAX_SAMPLES", "SuspiciousAccount", "count_reasons", "pick_suspicious"]

MAX_SAMPLES: Final = 25


@dataclass(frozen=True, slots=True)
class SuspiciousAccount(ScoredAccount):
    """One account shown to the user, with its position in the sample."""

    position: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "id": self.id,
            "handle": self.handle,
            "fake_probability": round(self.fake_probability, 4),
            "reasons": list(self.reasons),
            "reason_codes": list(self.reason_codes),
            "position": self.position,
        }


#: How much each already-picked account with the same main reason kind costs a candidate.
_SAME_MAIN: Final = 0.2
#: ... and each shared secondary reason kind.
_SHARED: Final = 0.03
#: What each reason (up to three) adds to a candidate's score.
_PER_REASON: Final = 0.01
#: Only the best candidates are considered, to bound the work on huge samples.
_POOL: Final = 300


def pick_suspicious(
    verdicts: Sequence[VerdictLike], k: int = 5, *, threshold: float = 0.5
) -> list[SuspiciousAccount]:
    """Up to ``k`` (at most 25) accounts above ``threshold``, most telling and varied first."""
    k = max(0, min(int(k), MAX_SAMPLES))
    if k == 0 or not verdicts:
        return []
    probs = np.fromiter((v.fake_probability for v in verdicts), np.float64, len(verdicts))
    flagged = np.flatnonzero(probs > threshold)
    if flagged.size == 0:
        return []
    n_reasons = np.fromiter(
        (len(verdicts[i].reasons) for i in flagged.tolist()), np.int64, flagged.size
    )
    order = np.lexsort((flagged, -n_reasons, -probs[flagged]))[:_POOL]
    cands = flagged[order]
    codes: dict[str, int] = {}
    main = np.empty(cands.size, dtype=np.int64)
    rows: list[list[int]] = []
    for j, i in enumerate(cands.tolist()):
        rc = verdicts[i].reason_codes
        main[j] = codes.setdefault(rc[0] if rc else "", len(codes))
        rows.append([codes.setdefault(c, len(codes)) for c in rc[1:]])
    secondary = np.zeros((cands.size, len(codes)))
    for j, row in enumerate(rows):
        secondary[j, row] = 1.0
    base = probs[cands] + _PER_REASON * np.minimum(n_reasons[order], 3)
    main_used = np.zeros(len(codes))
    codes_used = np.zeros(len(codes))
    alive = np.ones(cands.size, dtype=bool)
    picked: list[SuspiciousAccount] = []
    while len(picked) < min(k, cands.size):
        score = base - _SAME_MAIN * main_used[main] - _SHARED * (secondary @ codes_used)
        score[~alive] = -np.inf
        j = int(np.argmax(score))
        alive[j] = False
        main_used[main[j]] += 1
        codes_used[main[j]] += 1
        codes_used += secondary[j]
        i = int(cands[j])
        v = verdicts[i]
        picked.append(
            SuspiciousAccount(
                v.platform,
                v.id,
                v.handle,
                float(v.fake_probability),
                tuple(v.reasons),
                tuple(v.reason_codes),
                position=i,
            )
        )
    return picked


def count_reasons(
    verdicts: Sequence[VerdictLike],
    labels: Mapping[str, str] | None = None,
    *,
    threshold: float = 0.5,
) -> dict[str, int]:
    """How many suspicious accounts (above ``threshold``) in the whole sample give each reason.

    Keys are the model's short labels (the code itself when it has none), most frequent first.
    """
    labels = labels or {}
    counts: Counter[str] = Counter()
    for v in verdicts:
        if v.fake_probability > threshold:
            counts.update({labels.get(c, c) for c in v.reason_codes})
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
