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

from scoring.audit.types import VerdictLike

__all__ = ["MAX_SAMPLES", "SuspiciousAccount", "count_reasons", "pick_suspicious"]

MAX_SAMPLES: Final = 25
#: How much each already-picked account with the same main reason kind costs a candidate.
_SAME_MAIN: Final = 0.2
#: ... and each shared secondary reason kind.
_SHARED: Final = 0.03
_PER_REASON: Final = 0.01
#: Only the best candidates are considered, to bound the work on huge samples.
_POOL: Final = 500


@dataclass(frozen=True, slots=True)
class SuspiciousAccount:
    """One account shown to the user, with its position in the sample."""

    position: int
    platform: str
    id: str
    handle: str | None
    fake_probability: float
    reasons: tuple[str, ...]
    reason_codes: tuple[str, ...]

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


def _main_code(v: VerdictLike) -> str:
    return v.reason_codes[0] if v.reason_codes else ""


def pick_suspicious(
    verdicts: Sequence[VerdictLike], k: int = 5, *, threshold: float = 0.5
) -> list[SuspiciousAccount]:
    """Up to ``k`` (at most 25) accounts above ``threshold``, most telling and varied first."""
    k = max(0, min(int(k), MAX_SAMPLES))
    cands = [i for i, v in enumerate(verdicts) if v.fake_probability > threshold]
    cands.sort(key=lambda i: (-verdicts[i].fake_probability, -len(verdicts[i].reasons), i))
    cands = cands[:_POOL]
    main_used: Counter[str] = Counter()
    codes_used: Counter[str] = Counter()
    picked: list[SuspiciousAccount] = []
    while cands and len(picked) < k:
        best, best_score = 0, float("-inf")
        for j, i in enumerate(cands):
            v = verdicts[i]
            score = (
                v.fake_probability
                + _PER_REASON * min(len(v.reasons), 3)
                - _SAME_MAIN * main_used[_main_code(v)]
                - _SHARED * sum(codes_used[c] for c in v.reason_codes[1:])
            )
            if score > best_score:
                best, best_score = j, score
        i = cands.pop(best)
        v = verdicts[i]
        main_used[_main_code(v)] += 1
        codes_used.update(v.reason_codes)
        picked.append(
            SuspiciousAccount(
                i,
                v.platform,
                v.id,
                v.handle,
                float(v.fake_probability),
                tuple(v.reasons),
                tuple(v.reason_codes),
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
