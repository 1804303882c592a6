"""Benchmark: features + prediction + reasons for 100,000 synthetic accounts on one core.

    python -m benchmarks.bench_score [--n 100000]

Accounts are built in memory (synthetic, varied, some fields missing) so the figure measures
scoring alone; JSON parsing belongs to the loaders' and the CLI's benchmarks. Prints figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from scoring.account import Account
from scoring.features import extract
from scoring.model import load_model


def synthetic_accounts(n: int, seed: int = 7) -> list[Account]:
    """Varied accounts: twitter-like, counts-only and bluesky-like, with gaps."""
    rng = np.random.default_rng(seed)
    observed = datetime(2026, 11, 1, tzinfo=UTC)
    followers = rng.lognormal(4, 2, n).astype(int)
    following = rng.lognormal(5, 1.5, n).astype(int)
    posts = rng.lognormal(5, 2.5, n).astype(int)
    age = rng.integers(0, 5000, n)
    kind = rng.integers(0, 3, n)
    digits = rng.integers(0, 10**6, n)
    out: list[Account] = []
    for i in range(n):
        k = int(kind[i])
        platform = ("twitter", "instagram", "bluesky")[k]
        handle = None if k == 1 else f"user{'_x' * (i % 3)}{int(digits[i]) if i % 2 else ''}"
        out.append(
            Account(
                platform=platform,
                id=str(i),
                handle=handle,
                display_name=None if k == 1 else ("Jane Doe" if i % 4 else "Ünïcödé 名前"),
                bio=None if i % 5 == 0 else "Some bio text",
                url="https://example.com" if i % 7 == 0 else None,
                location="Paris" if k == 0 and i % 3 == 0 else None,
                created_at=None if k == 1 else observed - timedelta(days=int(age[i])),
                observed_at=None if k == 1 else observed,
                followers_count=int(followers[i]),
                following_count=int(following[i]),
                posts_count=int(posts[i]),
                likes_count=int(posts[i]) // 3 if k == 0 else None,
                listed_count=int(followers[i]) // 50 if k == 0 else None,
                has_default_avatar=bool(i % 11 == 0) if k != 1 else None,
                has_banner=bool(i % 2) if k != 1 else None,
                verified=False if k == 0 else None,
            )
        )
    return out


def best_of(repeats: int, fn: object) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def cold_start() -> float:
    """Seconds for a fresh interpreter to import scoring.model, load the artifact, score one."""
    code = (
        "import time; t=time.perf_counter();"
        "from scoring.account import Account; from scoring.model import load_model;"
        "m=load_model(); m.score([Account(platform='twitter', id='1', followers_count=3)]);"
        "print(time.perf_counter()-t)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(res.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    accounts = synthetic_accounts(args.n)
    model = load_model()
    model.score(accounts[:100])  # warm up
    t_feat = best_of(args.repeats, lambda: extract(accounts))
    t_prob = best_of(args.repeats, lambda: model.predict_proba(accounts))
    t_score = best_of(args.repeats, lambda: model.score(accounts))
    batch = model.score(accounts)
    explained = sum(1 for v in batch.verdicts if v.reasons)
    n = args.n
    print(f"accounts: {n:,} ({explained:,} given reasons, model {model.version})")
    print(f"features only:                {t_feat * 1e3:8.1f} ms  {n / t_feat:12,.0f} accounts/s")
    print(f"features + probabilities:     {t_prob * 1e3:8.1f} ms  {n / t_prob:12,.0f} accounts/s")
    print(f"features + probs + reasons:   {t_score * 1e3:8.1f} ms  {n / t_score:12,.0f} accounts/s")
    print(f"cold start (import, load, score 1): {cold_start() * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
