"""Compare a re-audit with the audits before it and decide what to alert on (pure, no I/O).

An audit is summarised as a ``Snapshot``: the fake share with its 95% interval, the grade, the
platform's follower count, the bursts found (each identified by the hashed ids of its accounts, so
the same burst seen again is recognised whatever its position in the follow order), and how many
of the sampled followers are new since the previous audit, with their own fake share.

``compare`` returns the triggers that fire (share jump, new burst, growth jump, grade drop); all
of them for one account in one re-audit make one alert. Alerts rest only on evidence: an
inconclusive re-audit (no firm grade) never alerts, a share rise needs the new interval wholly
above the previous one, and a grade drop needs two firm grades whose intervals do not overlap.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from scoring.audit.grade import GRADES, grade_label

__all__ = [
    "GRADES",
    "SNAPSHOT_VERSION",
    "BurstMark",
    "Change",
    "CompareConfig",
    "Share",
    "Snapshot",
    "Trigger",
    "compare",
    "count_new",
    "member_key",
    "parse_threshold",
]

SNAPSHOT_VERSION: Final = 1
#: Newest followers remembered per audit, to tell which followers of the next audit are new.
HEAD_SIZE: Final = 100
#: Accounts named as evidence per burst (the rest are counted).
MAX_EVIDENCE: Final = 25
_THRESHOLD: Final = re.compile(r"^\s*(\d{1,3}(?:\.\d{1,2})?)\s*%?\s*$")


def parse_threshold(text: str) -> float:
    """A watch threshold in percentage points: ``5``, ``5%`` and ``2.5 %`` mean 5, 5 and 2.5.

    ``ValueError`` with a one-line message when it is not a number of points in (0, 100].
    """
    match = _THRESHOLD.match(text)
    value = float(match.group(1)) if match else math.nan
    if not 0 < value <= 100:
        raise ValueError(
            f"threshold must be percentage points between 0 and 100, like 5 or 5%, "
            f"not {text[:20]!r}"
        )
    return value


def member_key(account_id: str) -> str:
    """A short stable key of an account id (64 bits of SHA-256): bursts are compared by these."""
    return hashlib.sha256(account_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def count_new(keys: Sequence[str], previous_head: Iterable[str]) -> int | None:
    """Followers (newest first, as member keys) ahead of the first one seen at the previous audit.

    ``None`` when no previous head is known; the whole sample when none of it was seen before.
    """
    head = set(previous_head)
    if not head:
        return None
    for i, key in enumerate(keys):
        if key in head:
            return i
    return len(keys)


@dataclass(frozen=True, slots=True)
class Share:
    """A fake share in 0..1 with its 95% interval."""

    estimate: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high}

    def text(self) -> str:
        """``23% (19–27%)``."""
        return f"{_pct(self.estimate)} ({100 * self.low:.0f}–{_pct(self.high)})"

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any] | None) -> Share | None:
        if not isinstance(obj, Mapping) or obj.get("estimate") is None:
            return None
        est = _fraction(obj["estimate"])
        low = _fraction(obj.get("low", est))
        high = _fraction(obj.get("high", est))
        return cls(est, min(low, est), max(high, est))


def _count(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"a count must be a non-negative integer, not {value!r}")
    return value


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"a share must be a number in 0..1, not {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class BurstMark:
    """A burst as the alerts know it: its accounts' keys, size, fake share and named evidence."""

    members: frozenset[str]
    size: int
    fake_share: float
    #: Handles (or ids) of some of its accounts, raw platform text: escape when rendering.
    evidence: tuple[str, ...] = ()
    kind: str = "fakes"
    #: Members that are new since the previous audit (``None``: unknown, e.g. a baseline).
    newcomers: int | None = None

    @property
    def key(self) -> str:
        """A short id of the burst: a hash of its sorted member keys."""
        return hashlib.sha256(",".join(sorted(self.members)).encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {
            "members": sorted(self.members),
            "size": self.size,
            "fake_share": round(self.fake_share, 4),
            "evidence": list(self.evidence),
            "kind": self.kind,
            "newcomers": self.newcomers,
        }

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> BurstMark:
        members = obj.get("members")
        evidence = obj.get("evidence", [])
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise ValueError("a burst's members must be a list of strings")
        if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
            raise ValueError("a burst's evidence must be a list of strings")
        size = obj.get("size")
        if not isinstance(size, int) or size < 0:
            raise ValueError("a burst's size must be a non-negative integer")
        return cls(
            members=frozenset(members),
            size=size,
            fake_share=_fraction(obj.get("fake_share", 0.0)),
            evidence=tuple(evidence[:MAX_EVIDENCE]),
            kind=str(obj.get("kind", "fakes"))[:32],
            newcomers=_count(obj.get("newcomers")),
        )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the alerts remember of one audit of a watched account."""

    at: float  # epoch seconds
    share: Share | None
    grade: str | None
    followers_total: int | None
    sample_size: int
    bursts: tuple[BurstMark, ...] = ()
    #: Member keys of the newest followers (at most ``HEAD_SIZE``), newest first.
    head: tuple[str, ...] = ()
    #: Sampled followers that are new since the previous audit, and their fake share.
    new_followers: int | None = None
    new_share: Share | None = None
    audit_id: str = ""
    #: Grades at the interval's ends (``None`` in snapshots stored before it was kept).
    grade_range: tuple[str, str] | None = None

    @property
    def conclusive(self) -> bool:
        """A firm grade: the audit's evidence supports one letter."""
        return self.grade in GRADES

    @property
    def grade_text(self) -> str:
        """``grade B``, ``grade B–F (inconclusive)`` or ``no grade``: the report's label."""
        label = grade_label(self.grade, self.grade_range)
        return label[0].lower() + label[1:]

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": SNAPSHOT_VERSION,
            "at": self.at,
            "share": None if self.share is None else self.share.to_dict(),
            "grade": self.grade,
            "followers_total": self.followers_total,
            "sample_size": self.sample_size,
            "bursts": [b.to_dict() for b in self.bursts],
            "head": list(self.head),
            "new_followers": self.new_followers,
            "new_share": None if self.new_share is None else self.new_share.to_dict(),
            "audit_id": self.audit_id,
            "grade_range": None if self.grade_range is None else list(self.grade_range),
        }

    @classmethod
    def from_dict(cls, obj: Mapping[str, Any]) -> Snapshot:
        """Validate a stored snapshot; ``ValueError`` when it is not one we wrote."""
        if obj.get("v") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported snapshot version {obj.get('v')!r}")
        at = obj.get("at")
        if isinstance(at, bool) or not isinstance(at, int | float):
            raise ValueError("a snapshot's 'at' must be a number")
        grade = obj.get("grade")
        if grade is not None and grade not in GRADES:
            raise ValueError(f"unknown grade {grade!r}")
        total = obj.get("followers_total")
        if total is not None and (not isinstance(total, int) or total < 0):
            raise ValueError("followers_total must be a non-negative integer or null")
        new = obj.get("new_followers")
        if new is not None and (not isinstance(new, int) or new < 0):
            raise ValueError("new_followers must be a non-negative integer or null")
        size = obj.get("sample_size")
        if not isinstance(size, int) or size < 0:
            raise ValueError("sample_size must be a non-negative integer")
        grade_range = obj.get("grade_range")
        if grade_range is not None and (
            not isinstance(grade_range, list)
            or len(grade_range) != 2
            or not all(g in GRADES for g in grade_range)
        ):
            raise ValueError(f"grade_range must be two grades or null, not {grade_range!r}")
        head = obj.get("head", [])
        bursts = obj.get("bursts", [])
        if not isinstance(head, list) or not all(isinstance(h, str) for h in head):
            raise ValueError("head must be a list of strings")
        if not isinstance(bursts, list) or not all(isinstance(b, Mapping) for b in bursts):
            raise ValueError("bursts must be a list of objects")
        return cls(
            at=float(at),
            share=Share.from_dict(obj.get("share")),
            grade=grade,
            followers_total=total,
            sample_size=size,
            bursts=tuple(BurstMark.from_dict(b) for b in bursts),
            head=tuple(head[:HEAD_SIZE]),
            new_followers=new,
            new_share=Share.from_dict(obj.get("new_share")),
            audit_id=str(obj.get("audit_id", ""))[:64],
            grade_range=None if grade_range is None else (grade_range[0], grade_range[1]),
        )


@dataclass(frozen=True, slots=True)
class CompareConfig:
    """Tuning of the triggers other than the watch's own threshold."""

    #: A burst is new when at least this share of its accounts was never in an earlier burst
    #: (and, where known, at least this share are followers new since the previous audit).
    new_burst_share: float = 0.5
    #: Growth: earlier audits needed before the follower count's trend is judged.
    growth_min_history: int = 3
    #: Growth: the jump must exceed the trend by this many times the trend's own spread ...
    growth_spread_factor: float = 3.0
    #: ... and by at least this many followers, and this share of the previous count.
    growth_min_followers: int = 100
    growth_min_relative: float = 0.02


@dataclass(frozen=True, slots=True)
class Trigger:
    """One reason to alert: ``kind`` is share, burst, growth or grade; ``before``/``after`` are
    plain numbers or grades; ``detail`` a short plain-words line with no platform text."""

    kind: str
    before: str
    after: str
    detail: str


@dataclass(frozen=True, slots=True)
class Change:
    """What one re-audit found against the audits before it."""

    triggers: tuple[Trigger, ...]
    new_bursts: tuple[BurstMark, ...]
    #: When the previous audit ran (epoch seconds), the "since" of the alert.
    since: float | None
    previous: Snapshot | None
    current: Snapshot
    kinds: tuple[str, ...] = field(default=())

    @property
    def fired(self) -> bool:
        return bool(self.triggers)


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _is_new_burst(burst: BurstMark, known: set[str], min_new: float) -> bool:
    """Mostly accounts no earlier burst held and, where the audit could tell, mostly followers
    that are new since the previous audit (so a re-scan of old followers is no news)."""
    if not burst.members:
        return False
    unseen = sum(1 for m in burst.members if m not in known)
    if unseen / len(burst.members) < min_new:
        return False
    return burst.newcomers is None or burst.newcomers >= min_new * burst.size


def _growth(
    history: Sequence[Snapshot], new: Snapshot, cfg: CompareConfig
) -> tuple[int, float] | None:
    """(observed jump, expected growth) when the follower count jumps far beyond its trend."""
    points = [(s.at, s.followers_total) for s in history if s.followers_total is not None]
    if len(points) < cfg.growth_min_history or new.followers_total is None:
        return None
    points = points[-(cfg.growth_min_history + 3) :]
    rates = [(c1 - c0) / (t1 - t0) for (t0, c0), (t1, c1) in itertools.pairwise(points) if t1 > t0]
    last_at, last_count = points[-1]
    dt = new.at - last_at
    if not rates or dt <= 0:
        return None
    rates.sort()
    mid = len(rates) // 2
    median = rates[mid] if len(rates) % 2 else (rates[mid - 1] + rates[mid]) / 2
    spread = max(abs(r - median) for r in rates)
    expected = max(0.0, median * dt)
    jump = new.followers_total - last_count
    excess = jump - expected
    floor = max(cfg.growth_min_followers, cfg.growth_min_relative * last_count)
    if excess > cfg.growth_spread_factor * spread * dt and excess >= floor:
        return jump, expected
    return None


def compare(
    history: Sequence[Snapshot],
    new: Snapshot,
    *,
    threshold_points: float = 5.0,
    alerted: Iterable[Iterable[str]] = (),
    config: CompareConfig | None = None,
) -> Change:
    """The triggers that fire for ``new`` against ``history`` (oldest first, the previous audit
    last). ``alerted``: member keys of bursts already alerted on, never alerted again."""
    cfg = config or CompareConfig()
    prev = history[-1] if history else None
    triggers: list[Trigger] = []
    if prev is None or not new.conclusive:
        # No previous audit to compare with, or one whose evidence supports no grade: no alert.
        return Change((), (), None if prev is None else prev.at, prev, new)
    # (a) the fake share rose past the previous interval by more than the threshold, and the
    # whole new interval lies above the previous one
    if new.share is not None and prev.share is not None and new.share.low > prev.share.high:
        rise = new.share.estimate - prev.share.high
        if rise * 100 > threshold_points + 1e-9:
            triggers.append(
                Trigger(
                    "share",
                    prev.share.text(),
                    new.share.text(),
                    f"estimated fake share rose from {prev.share.text()} to "
                    f"{new.share.text()}, {100 * rise:.0f} points above the previous "
                    f"upper bound (threshold {threshold_points:g})",
                )
            )
    # (b) a burst among the followers that no earlier audit or alert has seen
    known: set[str] = set()
    for members in alerted:
        known.update(members)
    for snap in history:
        for b in snap.bursts:
            known.update(b.members)
    fresh = tuple(b for b in new.bursts if _is_new_burst(b, known, cfg.new_burst_share))
    if fresh:
        size = sum(b.size for b in fresh)
        what = "burst" if len(fresh) == 1 else f"{len(fresh)} bursts"
        share = max(b.fake_share for b in fresh)
        triggers.append(
            Trigger(
                "burst",
                "none",
                f"{size:,} accounts",
                f"new {what} of {size:,} suspicious followers arriving together "
                f"(up to {_pct(share)} look fake)",
            )
        )
    # (c) the follower count jumped far beyond its trend, and the newcomers look worse
    jump = _growth(history, new, cfg)
    if (
        jump is not None
        and prev.share is not None
        and new.new_share is not None
        and new.new_share.low > prev.share.high
    ):
        observed, expected = jump
        triggers.append(
            Trigger(
                "growth",
                f"+{expected:,.0f} expected",
                f"+{observed:,}",
                f"follower count jumped by {observed:,} (the trend expected about "
                f"{expected:,.0f}); the new followers' fake share is "
                f"{new.new_share.text()}, above the previous {prev.share.text()}",
            )
        )
    # (d) a firm grade worse than the previous firm grade, the intervals apart
    if (
        prev.grade in GRADES
        and new.grade in GRADES
        and GRADES.index(new.grade) > GRADES.index(prev.grade)
        and new.share is not None
        and prev.share is not None
        and new.share.low > prev.share.high
    ):
        triggers.append(
            Trigger(
                "grade", prev.grade, new.grade, f"grade dropped from {prev.grade} to {new.grade}"
            )
        )
    kinds = tuple(t.kind for t in triggers)
    return Change(tuple(triggers), fresh if triggers else (), prev.at, prev, new, kinds)
