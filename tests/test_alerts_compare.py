"""The pure alert triggers: share jump, new burst, growth jump, grade drop, and their parsing."""

from __future__ import annotations

import dataclasses

import pytest

from scoring.audit.compare import (
    BurstMark,
    CompareConfig,
    Share,
    Snapshot,
    compare,
    count_new,
    member_key,
    parse_threshold,
)

HOUR = 3600.0


def snap(
    at: float = 0.0,
    est: float = 0.05,
    low: float = 0.03,
    high: float = 0.07,
    grade: str | None = "A",
    total: int | None = 1000,
    bursts: tuple[BurstMark, ...] = (),
    new_share: Share | None = None,
    new_followers: int | None = None,
) -> Snapshot:
    return Snapshot(
        at=at,
        share=Share(est, low, high),
        grade=grade,
        followers_total=total,
        sample_size=1000,
        bursts=bursts,
        new_share=new_share,
        new_followers=new_followers,
    )


def burst(ids: range | list[str], share: float = 0.9) -> BurstMark:
    names = [f"acct{i}" for i in ids] if isinstance(ids, range) else ids
    return BurstMark(frozenset(member_key(n) for n in names), len(names), share, tuple(names[:25]))


@pytest.mark.parametrize(
    ("text", "points"),
    [("5", 5.0), ("5%", 5.0), (" 5 % ", 5.0), ("2.5", 2.5), ("100", 100.0), ("0.5%", 0.5)],
)
def test_threshold_parses_points(text: str, points: float) -> None:
    assert parse_threshold(text) == points


@pytest.mark.parametrize("text", ["0", "-5", "101", "five", "", "5%%", "1e3", "nan", "5 points"])
def test_threshold_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="percentage points"):
        parse_threshold(text)


def test_first_audit_is_a_baseline_and_fires_nothing() -> None:
    change = compare([], snap(grade="F", est=0.9, low=0.85, high=0.95))
    assert not change.fired and change.previous is None


def test_no_change_fires_nothing() -> None:
    assert not compare([snap()], snap(at=6 * HOUR)).fired


@pytest.mark.parametrize(
    ("new_est", "threshold", "fires"),
    [
        (0.12, 5.0, False),  # exactly 5 points above the previous upper bound: not "more than"
        (0.1201, 5.0, True),
        (0.11, 5.0, False),
        (0.10, 2.5, True),
        (0.30, 25.0, False),
        (0.33, 25.0, True),
    ],
)
def test_share_trigger_against_previous_upper_bound(
    new_est: float, threshold: float, fires: bool
) -> None:
    prev = snap(est=0.05, low=0.03, high=0.07)
    new = snap(at=HOUR, est=new_est, low=new_est - 0.02, high=new_est + 0.02)
    change = compare([prev], new, threshold_points=threshold)
    assert ("share" in change.kinds) is fires


def test_share_trigger_says_from_what_to_what() -> None:
    change = compare([snap()], snap(at=HOUR, est=0.31, low=0.27, high=0.35, grade="A"))
    (trigger,) = change.triggers
    assert trigger.before == "5% (3–7%)" and trigger.after == "31% (27–35%)"
    assert change.since == 0.0


def test_share_drop_never_fires() -> None:
    prev = snap(est=0.5, low=0.45, high=0.55, grade="F")
    assert not compare([prev], snap(at=HOUR, est=0.01, low=0.0, high=0.02)).fired


def test_a_grade_drop_fires_only_on_firm_grades_with_intervals_apart() -> None:
    before = snap(est=0.03, low=0.02, high=0.045, grade="A")
    worse = snap(at=HOUR, est=0.08, low=0.06, high=0.10, grade="B")
    assert compare([before], worse).kinds == ("grade",)
    # the same letters, but the intervals overlap: sampling noise, not evidence
    close = snap(at=HOUR, est=0.06, low=0.04, high=0.08, grade="B")
    assert not compare([before], close).fired
    assert not compare([snap(grade="C")], snap(at=HOUR, grade="B")).fired
    assert not compare([snap(grade=None)], snap(at=HOUR, grade="F")).fired
    assert not compare([snap(grade="A")], snap(at=HOUR, grade=None)).fired


def test_an_inconclusive_re_audit_never_alerts_and_says_so() -> None:
    before = snap(est=0.02, low=0.01, high=0.03, grade="A")
    dump = burst(range(300))
    vague = Snapshot(
        at=HOUR, share=Share(0.41, 0.0, 1.0), grade=None, followers_total=1300,
        sample_size=1000, bursts=(dump,), grade_range=("A", "F"),
    )  # fmt: skip
    assert not compare([before], vague).fired
    assert vague.grade_text == "grade A–F (inconclusive)" and not vague.conclusive
    assert Snapshot.from_dict(vague.to_dict()) == vague
    # the same burst in a firm re-audit is news
    firm = dataclasses.replace(vague, share=Share(0.32, 0.3, 0.34), grade="D", grade_range=None)
    assert compare([before], firm).kinds == ("share", "burst", "grade")


def test_a_share_rise_needs_the_new_interval_above_the_old() -> None:
    before = snap(est=0.05, low=0.02, high=0.08, grade="B")
    overlapping = snap(at=HOUR, est=0.2, low=0.07, high=0.35, grade="C")
    assert "share" not in compare([before], overlapping).kinds


def test_new_burst_fires_once_and_names_its_accounts() -> None:
    dump = burst(range(300))
    change = compare([snap()], snap(at=HOUR, bursts=(dump,)))
    assert change.kinds == ("burst",)
    assert change.new_bursts == (dump,)
    assert "300" in change.triggers[0].after
    assert change.new_bursts[0].evidence[0] == "acct0"
    # the same burst, seen again after it was alerted on: nothing
    again = compare([snap(), snap(at=HOUR, bursts=(dump,))], snap(at=2 * HOUR, bursts=(dump,)))
    assert not again.fired
    # even when only the alert remembers it (history trimmed)
    assert not compare([snap()], snap(at=2 * HOUR, bursts=(dump,)), alerted=[dump.members]).fired


def test_burst_seen_with_shifted_edges_is_the_same_burst() -> None:
    first = burst(range(300))
    shifted = burst(range(20, 330))  # 290 of 310 already known
    assert not compare([snap(bursts=(first,))], snap(at=HOUR, bursts=(shifted,))).fired


def test_a_second_dump_is_a_new_burst() -> None:
    first = burst(range(300))
    second = burst(range(1000, 1200))
    change = compare([snap(bursts=(first,))], snap(at=HOUR, bursts=(second, first)))
    assert change.kinds == ("burst",) and change.new_bursts == (second,)


def test_burst_present_at_baseline_is_not_news() -> None:
    old = burst(range(50))
    assert not compare([snap(bursts=(old,))], snap(at=HOUR, bursts=(old,))).fired


def test_key_of_a_burst_is_stable_and_order_free() -> None:
    assert burst(["a", "b"]).key == burst(["b", "a"]).key != burst(["a", "c"]).key


def steady(n: int, per_step: int = 10, step: float = 6 * HOUR) -> list[Snapshot]:
    return [snap(at=i * step, total=1000 + i * per_step) for i in range(n)]


def test_growth_needs_three_earlier_audits() -> None:
    worse = Share(0.4, 0.3, 0.5)
    jump = dict(total=3000, new_share=worse, new_followers=1000, grade="A")
    assert "growth" not in compare(steady(2), snap(at=12 * HOUR, **jump)).kinds  # type: ignore[arg-type]
    assert "growth" in compare(steady(3), snap(at=18 * HOUR, **jump)).kinds  # type: ignore[arg-type]


def test_growth_on_trend_or_with_clean_newcomers_does_not_fire() -> None:
    history = steady(4)
    on_trend = snap(at=24 * HOUR, total=1040, new_share=Share(0.4, 0.3, 0.5))
    assert "growth" not in compare(history, on_trend).kinds
    clean_jump = snap(at=24 * HOUR, total=3000, new_share=Share(0.03, 0.01, 0.05))
    assert "growth" not in compare(history, clean_jump).kinds
    unknown_newcomers = snap(at=24 * HOUR, total=3000, new_share=None)
    assert "growth" not in compare(history, unknown_newcomers).kinds


def test_growth_respects_the_trend_spread_and_floor() -> None:
    # erratic history: +10, +400, +10 per interval; a +450 interval is within its spread
    totals = [1000, 1010, 1410, 1420]
    history = [snap(at=i * 6 * HOUR, total=t) for i, t in enumerate(totals)]
    new = snap(at=24 * HOUR, total=1870, new_share=Share(0.4, 0.3, 0.5))
    assert "growth" not in compare(history, new).kinds
    # a jump smaller than the floor (100 followers) never fires
    small = snap(at=24 * HOUR, total=1000 + 30 + 90, new_share=Share(0.4, 0.3, 0.5))
    assert "growth" not in compare(steady(4), small).kinds
    tuned = CompareConfig(growth_min_followers=10)
    assert "growth" in compare(steady(4), small, config=tuned).kinds


def test_all_triggers_make_one_change() -> None:
    history = steady(3)
    dump = burst(range(300))
    new = snap(
        at=18 * HOUR, est=0.35, low=0.3, high=0.4, grade="D", total=1330, bursts=(dump,),
        new_share=Share(0.9, 0.85, 0.95), new_followers=300,
    )  # fmt: skip
    change = compare(history, new)
    assert change.kinds == ("share", "burst", "growth", "grade")
    assert change.since == 12 * HOUR


def test_count_new_followers() -> None:
    keys = [member_key(f"n{i}") for i in range(5)] + [member_key("old0"), member_key("old1")]
    assert count_new(keys, [member_key("old0"), member_key("old1")]) == 5
    assert count_new(keys, [member_key("gone")]) == 7
    assert count_new(keys, []) is None
    assert count_new(keys[5:], [member_key("old0")]) == 0


def test_snapshot_round_trip_and_validation() -> None:
    s = snap(bursts=(burst(range(3)),), new_share=Share(0.1, 0.05, 0.2), new_followers=3)
    assert Snapshot.from_dict(s.to_dict()) == s
    bad = s.to_dict()
    bad["v"] = 99
    with pytest.raises(ValueError, match="version"):
        Snapshot.from_dict(bad)
    bad = s.to_dict()
    bad["grade"] = "Z"
    with pytest.raises(ValueError, match="grade"):
        Snapshot.from_dict(bad)
    bad = s.to_dict()
    bad["share"]["estimate"] = 3
    with pytest.raises(ValueError, match="share"):
        Snapshot.from_dict(bad)


def test_a_burst_among_old_followers_is_no_news() -> None:
    old = burst(range(300))
    rescanned = BurstMark(old.members, old.size, old.fake_share, old.evidence, newcomers=0)
    assert not compare([snap()], snap(at=HOUR, bursts=(rescanned,))).fired
    half = BurstMark(old.members, old.size, old.fake_share, old.evidence, newcomers=150)
    assert compare([snap()], snap(at=HOUR, bursts=(half,))).kinds == ("burst",)
    assert BurstMark.from_dict(half.to_dict()) == half
