"""The small shapes the audit reads from the scoring model, as Protocols.

The audit needs only a few attributes of a verdict and of the model, so it depends on these
Protocols rather than on the concrete classes; ``scoring.model.Verdict`` and ``Model`` fit them.
Two small helpers every part uses stand here too: ``as_probabilities`` and ``rounded``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from scoring.account import Account

__all__ = ["FloatArray", "ModelLike", "ScoredLike", "VerdictLike", "as_probabilities", "rounded"]

FloatArray = npt.NDArray[np.float64]


def as_probabilities(values: FloatArray | Sequence[float]) -> FloatArray:
    """A float array clipped to 0..1, a missing (NaN) probability read as 0.5: undecided."""
    out: FloatArray = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.5), 0, 1)
    return out


def rounded(value: float | None, digits: int = 4) -> float | None:
    """A number as the JSON shapes write it: rounded (a share to 4 digits); unknown stays None."""
    return None if value is None else round(value, digits)


class VerdictLike(Protocol):
    """One scored account: who, how likely fake, and why."""

    @property
    def platform(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def handle(self) -> str | None: ...
    @property
    def fake_probability(self) -> float: ...
    @property
    def reasons(self) -> tuple[str, ...]: ...
    @property
    def reason_codes(self) -> tuple[str, ...]: ...


class ScoredLike(Protocol):
    """A scored batch: probabilities and verdicts in input order."""

    @property
    def probabilities(self) -> FloatArray: ...
    @property
    def verdicts(self) -> Sequence[VerdictLike]: ...


class ModelLike(Protocol):
    """What the audit needs of a model: its version, validated error rates and reason labels."""

    @property
    def version(self) -> str: ...
    @property
    def validation(self) -> Mapping[str, Any]: ...
    @property
    def reason_labels(self) -> Mapping[str, str]: ...
    def score(self, accounts: Sequence[Account], *, max_reasons: int = 3) -> ScoredLike: ...
