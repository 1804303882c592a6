"""From the estimated fake share to a grade A-F and a one-line verdict in plain words.

Default bands (upper bounds of the fake share, inclusive): A up to 5%, B up to 10%, C up to 20%,
D up to 35%, F above.

A single letter is given only where the evidence supports one (``grade_call``): at least the
minimum sample, an estimate the model's validation vouches for (not marked unfamiliar), and a
95% interval that spans at most two grade bands. Otherwise the grade is *inconclusive*: no
letter, only the range of grades at the interval's ends (``Grade B–F (inconclusive)``), and the
verdict says why in plain words rather than dressing a guess up as a fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from scoring.audit.quantify import METHOD_UNFAMILIAR, ShareEstimate

__all__ = [
    "FIRM_BANDS",
    "GRADES",
    "GradeBands",
    "GradeCall",
    "grade_call",
    "grade_for",
    "grade_label",
    "percent",
    "share_text",
    "verdict_for",
]

#: Grades from best to worst.
GRADES: Final = ("A", "B", "C", "D", "F")
#: A firm grade needs the 95% interval to span at most this many grade bands.
FIRM_BANDS: Final = 2


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


@dataclass(frozen=True, slots=True)
class GradeCall:
    """The grade the evidence supports: ``grade`` is the firm letter or ``None``; ``best`` and
    ``worst`` are the grades at the interval's ends (equal to ``grade`` when it is firm);
    ``why`` is ``firm``, ``empty``, ``small``, ``unfamiliar`` or ``wide``. It keeps the evidence
    it was decided on, so ``verdict_for`` can say why in words."""

    grade: str | None
    best: str
    worst: str
    why: str
    share: ShareEstimate
    sample_size: int
    #: The smallest sample a firm grade needs.
    min_sample: int

    @property
    def range(self) -> tuple[str, str]:
        """``(best, worst)``, the JSON ``grade_range``."""
        return (self.best, self.worst)

    @property
    def label(self) -> str:
        """``Grade B`` when firm, ``Grade B–F (inconclusive)`` or ``Grade F (inconclusive)``."""
        return grade_label(self.grade, self.range)


def grade_label(grade: object, grade_range: object) -> str:
    """The grade as every rendering states it: ``Grade B`` when firm, ``Grade B–F
    (inconclusive)`` otherwise, ``No grade`` when not even a range is known. Takes the report's
    JSON values as they are (a stored report may predate ``grade_range``)."""
    if grade in GRADES:
        return f"Grade {grade}"
    if not isinstance(grade_range, list | tuple) or len(grade_range) != 2:
        return "No grade"
    best, worst = grade_range
    if best not in GRADES or worst not in GRADES:
        return "No grade"
    letters = best if best == worst else f"{best}–{worst}"
    return f"Grade {letters} (inconclusive)"


def grade_call(
    share: ShareEstimate,
    sample_size: int,
    bands: GradeBands | None = None,
    *,
    min_sample: int = 30,
) -> GradeCall:
    """Decide whether the estimate supports one grade (see the module's rule)."""
    bands = bands or GradeBands()
    grade: str | None = None
    best, worst = GRADES[0], GRADES[-1]
    est = share.estimate
    if est is None or sample_size == 0:
        why = "empty"
    else:
        best = bands.grade(share.low if share.low is not None else est)
        worst = bands.grade(share.high if share.high is not None else est)
        if sample_size < min_sample:
            why = "small"
        elif share.method == METHOD_UNFAMILIAR:
            why = "unfamiliar"
        elif GRADES.index(worst) - GRADES.index(best) + 1 > FIRM_BANDS:
            why = "wide"
        else:
            grade, why = bands.grade(est), "firm"
    return GradeCall(grade, best, worst, why, share, sample_size, min_sample)


def grade_for(
    share: ShareEstimate,
    bands: GradeBands | None = None,
    *,
    sample_size: int | None = None,
    min_sample: int = 30,
) -> str | None:
    """The firm grade of the estimate, or ``None`` when the evidence supports none (an empty
    or small sample, an unfamiliar audience, an interval over more than two bands). Without
    ``sample_size`` the sample is taken as large enough."""
    size = min_sample if sample_size is None else sample_size
    return grade_call(share, size, bands, min_sample=min_sample).grade


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


def verdict_for(call: GradeCall, *, beyond_fakes: int = 0) -> str:
    """One line in plain words that carries the uncertainty of ``call`` (``grade_call``); no
    platform text goes in it. ``beyond_fakes``: how many followers score higher than 99% of the
    validated fakes (said when the sample is unfamiliar, since it is often why)."""
    share = call.share
    if call.why == "empty":
        return "No followers to audit: not enough data for a verdict."
    numbers = share_text(share)
    if call.why == "small":
        noun = "follower" if call.sample_size == 1 else "followers"
        return (
            f"Not enough data for a grade: only {call.sample_size} {noun} sampled "
            f"(at least {call.min_sample} needed); the fake share is {numbers}."
        )
    if call.why == "unfamiliar":
        why = ""
        if beyond_fakes > 0:
            who = "1 of them scores" if beyond_fakes == 1 else f"{beyond_fakes:,} of them score"
            why = f" ({who} higher than 99% of the fakes it was validated on)"
        return (
            f"Inconclusive: these followers score unlike any data the model was validated on{why}"
            f", so the fake share is only bounded, {numbers}, and no single grade fits."
        )
    if call.why == "wide":
        return (
            f"Inconclusive: the fake share is {numbers}, a range that spans grades "
            f"{call.best} to {call.worst}, too wide for one grade; a larger sample may settle it."
        )
    assert share.estimate is not None and call.grade is not None
    words = _WORDS[call.grade]
    low = share.low if share.low is not None else share.estimate
    high = share.high if share.high is not None else share.estimate
    if call.best == call.worst or high - low <= 0.10:
        return f"{words}: {numbers}."
    return f"{words}: {numbers}, but uncertain, the interval spans two grades."
