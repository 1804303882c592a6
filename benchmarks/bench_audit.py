"""Time the whole audit of 1,000 followers, and the chart, and print the figures.

    .venv/bin/python -m benchmarks.bench_audit [--n 1000] [--repeat 30]

The audit is: scoring with the packaged model (``scoring.model.load_model``), the fake-share
estimate, inactive share, bursts, suspicious samples and reason counts, and every renderer (text,
Markdown, HTML, JSON). Followers are invented (random Bluesky-like profiles with a bought burst),
never rows of the labelled data. Targets: audit < 50 ms, chart < 300 ms (medians).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from scoring.account import Account
from scoring.audit import (
    build_report,
    render_html,
    render_json,
    render_markdown,
    render_text,
)
from scoring.audit.chart import render_chart

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def invented_followers(n: int, seed: int = 1) -> list[Account]:
    """Random profiles; a run of 150 young, empty, lopsided accounts in the middle."""
    rng = np.random.default_rng(seed)
    out = []
    burst = range(n // 3, n // 3 + 150)
    for i in range(n):
        bought = i in burst
        created = NOW - timedelta(
            days=int(rng.integers(3, 6)) if bought else int(rng.integers(30, 900))
        )
        out.append(
            Account(
                platform="bluesky",
                id=f"did:plc:bench{i:06d}",
                handle=f"bench{i}.bsky.social",
                display_name=None if bought else f"Person {i}",
                bio=None if bought else "I post about cats & <b>code</b>",
                created_at=created,
                observed_at=NOW,
                last_post_at=None if bought else NOW - timedelta(days=int(rng.integers(0, 400))),
                followers_count=int(rng.integers(0, 3)) if bought else int(rng.integers(5, 3000)),
                following_count=int(rng.integers(1000, 5000))
                if bought
                else int(rng.integers(5, 800)),
                posts_count=0 if bought else int(rng.integers(1, 5000)),
                has_default_avatar=bought,
                has_banner=not bought,
            )
        )
    return out


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return statistics.median(times), max(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the audit of 1,000 followers.")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)

    from scoring.model import load_model

    model = load_model()
    accounts = invented_followers(args.n)
    scored = model.score(accounts)

    def report() -> object:
        return build_report(
            accounts,
            scored,
            model_version=model.version,
            validation=model.audit_validation,
            reason_labels=model.reason_labels,
            total=48_210,
        )

    def whole() -> object:
        s = model.score(accounts)
        r = build_report(
            accounts,
            s,
            model_version=model.version,
            validation=model.audit_validation,
            reason_labels=model.reason_labels,
            total=48_210,
        )
        return (render_text(r), render_markdown(r), render_html(r), render_json(r))

    built = build_report(
        accounts,
        scored,
        model_version=model.version,
        validation=model.audit_validation,
        total=48_210,
    )
    created = [a.created_at for a in accounts]

    def chart() -> object:
        return render_chart(scored.probabilities, created, built.bursts)

    rows = [
        ("scores (model.score)", timed(lambda: model.score(accounts), args.repeat)),
        ("report (estimate, bursts, samples)", timed(report, args.repeat)),
        (
            "renderers (text, md, html, json)",
            timed(
                lambda: (
                    render_text(built),
                    render_markdown(built),
                    render_html(built),
                    render_json(built),
                ),
                args.repeat,
            ),
        ),
        ("whole audit", timed(whole, args.repeat)),
        ("chart (PNG)", timed(chart, max(5, args.repeat // 3))),
    ]
    print(f"audit of {args.n:,} followers, model {model.version}; median / max of runs, ms")
    for name, (median, worst) in rows:
        print(f"  {name:<36} {median:8.1f} {worst:8.1f}")
    print(f"  bursts found: {[(b.start, b.end) for b in built.bursts]}")
    print("  targets: whole audit < 50 ms, chart < 300 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
