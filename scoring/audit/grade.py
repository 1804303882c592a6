"""From the estimated fake share to a grade A-F and a one-line verdict in plain words.

Default bands (upper bounds of the fake share, inclusive): A up to 5%, B up to 10%, C up to 20%,
D up to 35%, F above. The verdict says when the sample is too small or the interval too wide for
a firm answer, or when the followers are unlike anything the model was validated on (the
estimate is then only a bound), rather than dressing a guess up as a fact.
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.audit.quantify import METHOD_UNFAMILIAR, ShareEstimate

__all__ = ["GradeBands", "grade_for", "percent", "share_text", "verdict_for"]


@dataclass(frozen=True, slots=True)
class GradeBands:
    """Upper bounds (fractions, inclusive) of the fake share for grades A, B, C and D; F above."""

    a: float = 0.05
    b: float = 0.10
    c: float = 0.20
    d: float = 0.35

    def __post_init__(self) -> None:
        bounds = (self.a, self.b, self.c, self.d)
        if not all(0.0 <= x <= 1.0 for x in bounds) or list(bounds) != sorted(bounds):
            raise ValueError(f"grade bands must rise within 0..1, got {bounds}")

    def grade(self, share: float) -> str:
        for letter, bound in zip("ABCD", (self.a, self.b, self.c, self.d), strict=True):
            if share <= bound:
                return letter
        return "F"


_WORDS = {
    "A": "Looks clean, very few followers look fake",
    "B": "Mostly genuine, a small share of followers look fake",
    "C": "Some fakes, a noticeable share of followers look fake",
    "D": "Many fakes, a large share of followers look fake",
    "F": "Heavily inflated, a very large share of followers look fake",
}


def grade_for(share: ShareEstimate, bands: GradeBands | None = None) -> str | None:
    """The grade of the estimate, or ``None`` when there is no estimate (an empty sample)."""
    if share.estimate is None:
        return None
    return (bands or GradeBands()).grade(share.estimate)


def percent(x: float) -> str:
    """A share as a whole percentage, ``0.234`` -> ``23%``."""
    return f"{round(100 * x)}%"


def share_text(share: ShareEstimate) -> str:
    """A share with its interval, ``23% (19–27%)``; ``unknown`` without an estimate."""
    if share.estimate is None:
        return "unknown"
    if share.low is None or share.high is None:
        return percent(share.estimate)
    return f"{percent(share.estimate)} ({round(100 * share.low)}–{percent(share.high)})"


def verdict_for(
    share: ShareEstimate,
    sample_size: int,
    bands: GradeBands | None = None,
    *,
    min_sample: int = 30,
    beyond_fakes: int = 0,
) -> str:
    """One line in plain words that carries the uncertainty; no platform text goes in it.
    ``beyond_fakes``: how many followers score higher than 99% of the validated fakes (said
    when the sample is unfamiliar, since it is often why)."""
    bands = bands or GradeBands()
    if share.estimate is None or sample_size == 0:
        return "No followers to audit: not enough data for a verdict."
    est = share.estimate
    low = share.low if share.low is not None else est
    high = share.high if share.high is not None else est
    numbers = share_text(share)
    if sample_size < min_sample:
        noun = "follower" if sample_size == 1 else "followers"
        return (
            f"Not enough data for a firm answer: only {sample_size} {noun} sampled; "
            f"the fake share is {numbers}."
        )
    if share.method == METHOD_UNFAMILIAR:
        why = ""
        if beyond_fakes > 0:
            who = "1 of them scores" if beyond_fakes == 1 else f"{beyond_fakes:,} of them score"
            why = f" ({who} higher than 99% of the fakes it was validated on)"
        return (
            f"Inconclusive: these followers score unlike any data the model was validated on{why}"
            f", so the fake share is only bounded, {numbers}, and the grade is provisional."
        )
    words = _WORDS[bands.grade(est)]
    if bands.grade(low) == bands.grade(high) or high - low <= 0.10:
        return f"{words}: {numbers}."
    return f"{words}: {numbers}, but uncertain, the interval is wide."
