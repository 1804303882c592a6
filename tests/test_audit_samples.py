from __future__ import annotations

from scoring.audit.samples import MAX_SAMPLES, count_reasons, pick_suspicious
from tests.audit_support import SynthVerdict


def v(i: int, p: float, *codes: str) -> SynthVerdict:
    return SynthVerdict(
        "bluesky", str(i), f"u{i}.bsky.social", p, tuple(f"{c}!" for c in codes), codes
    )


def test_picks_vary_over_reason_kinds() -> None:
    verdicts = [v(i, 0.99 - i * 0.001, "follow_ratio") for i in range(10)]
    verdicts += [v(10, 0.93, "default_avatar"), v(11, 0.9, "no_bio"), v(12, 0.88, "no_posts")]
    picked = pick_suspicious(verdicts, 5)
    mains = [p.reason_codes[0] for p in picked]
    assert len(picked) == 5
    assert {"default_avatar", "no_bio", "no_posts"} <= set(mains)
    assert picked[0].id == "0" and picked[0].position == 0
    assert picked[0].reasons == ("follow_ratio!",)


def test_only_flagged_accounts_and_at_most_25() -> None:
    verdicts = [v(i, 0.4, "x") for i in range(5)]
    assert pick_suspicious(verdicts, 5) == []
    many = [v(i, 0.9, f"c{i % 7}") for i in range(100)]
    assert len(pick_suspicious(many, 100)) == MAX_SAMPLES
    assert len(pick_suspicious(many, 0)) == 0
    assert pick_suspicious([], 5) == []


def test_reason_counts_cover_the_whole_sample_with_labels() -> None:
    verdicts = [v(i, 0.9, "follow_ratio", "no_bio") for i in range(30)]
    verdicts += [v(100, 0.2, "follow_ratio"), v(101, 0.8, "mystery")]
    counts = count_reasons(verdicts, {"follow_ratio": "lopsided follow ratio"})
    assert counts == {"lopsided follow ratio": 30, "no_bio": 30, "mystery": 1}
    assert next(iter(counts)) == "lopsided follow ratio"
    assert count_reasons([]) == {}
