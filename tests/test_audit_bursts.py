from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from scoring.audit.bursts import BurstBar, BurstConfig, find_bursts, null_threshold

T0 = datetime(2020, 1, 1, tzinfo=UTC)


def audience(rng: np.random.Generator, n: int = 1000, base: float = 0.1) -> np.ndarray:
    fake = rng.random(n) < base
    return np.where(fake, rng.beta(8, 2, n), rng.beta(1, 8, n))


def test_an_injected_run_is_found_with_its_edges() -> None:
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(30):
        p = audience(rng)
        start = int(rng.integers(0, 850))
        end = start + int(rng.integers(100, 150)) - 1
        p[start : end + 1] = rng.beta(8, 2, end - start + 1)
        bursts = find_bursts(p)
        hits += any(abs(b.start - start) <= 10 and abs(b.end - end) <= 10 for b in bursts)
    assert hits >= 29


def test_no_run_no_burst() -> None:
    rng = np.random.default_rng(12)
    reported = sum(bool(find_bursts(audience(rng, base=b))) for b in (0.0, 0.1, 0.3, 0.6) * 10)
    assert reported <= 1


def test_burst_fields_and_dates() -> None:
    rng = np.random.default_rng(5)
    p = audience(rng, 600)
    p[200:300] = 0.97
    created = [T0 - timedelta(days=int(d)) for d in rng.integers(0, 3000, 600)]
    for i in range(200, 300):
        created[i] = T0 + timedelta(days=int(rng.integers(0, 3)))
    (b,) = find_bursts(p, created)
    assert (b.start, b.end, b.size) == (200, 299, 100)
    assert b.fake_share > 0.9
    assert b.created_from is not None and b.created_to is not None
    assert b.created_from >= T0 and b.created_to < T0 + timedelta(days=3)
    d = b.to_dict()
    assert d["created_from"].startswith("2020-01-0") and d["size"] == 100


def test_a_cohort_created_together_is_found_with_a_milder_fake_share() -> None:
    rng = np.random.default_rng(8)
    n = 1000
    p = audience(rng, n, base=0.05)
    created = [T0 - timedelta(days=int(d)) for d in rng.integers(0, 3000, n)]
    for i in range(400, 520):
        created[i] = T0 + timedelta(hours=int(rng.integers(0, 48)))
        p[i] = 0.97 if rng.random() < 0.45 else p[i]
    bursts = find_bursts(p, created)
    assert any(abs(b.start - 400) <= 10 and abs(b.end - 519) <= 10 for b in bursts)
    # The scan's bar decides whether a significant run looks bought: this one's share is ~0.58.
    strict = BurstConfig(fakes=BurstBar(min_share=0.7, min_lift=0.25, threshold_factor=1.0))
    assert find_bursts(p, created, strict) == []


def test_edge_cases() -> None:
    assert find_bursts([]) == []
    assert find_bursts([0.99]) == []
    assert find_bursts(np.full(1000, 0.99)) == []  # all fake: nothing stands out
    assert find_bursts(np.zeros(1000), [None] * 1000) == []
    assert null_threshold(1000) > null_threshold(100)


def test_min_size_is_respected() -> None:
    p = np.zeros(500)
    p[100:108] = 1.0  # 8 fakes: no window of 20 is half fake
    assert find_bursts(p, config=BurstConfig(min_size=20)) == []
    (b,) = find_bursts(p, config=BurstConfig(min_size=5))
    assert (b.start, b.end) == (100, 107)
