"""Run every benchmark in turn and print their figures: ``python -m benchmarks`` (``make bench``).

Each benchmark is its own module with its own options (``python -m benchmarks.bench_score -h``);
this runs them with their defaults, one process each, so one's warm-up never helps another.
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks._data import missing

BENCHMARKS = (
    "bench_score",
    "bench_cli_score",
    "bench_loaders",
    "bench_audit",
    "bench_sources",
    "bench_pipeline",
    "bench_telegram",
    "bench_discord",
    "bench_alerts",
    "bench_review",
)


#: The benchmarks that read the labelled data sets (skipped, with one line, without them).
NEEDS_DATA = frozenset({"bench_loaders"})


def main() -> int:
    failed = []
    absent = missing("bench_loaders is skipped")
    if absent:
        print(absent, flush=True)
    for name in BENCHMARKS:
        if absent and name in NEEDS_DATA:
            continue
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", f"benchmarks.{name}"]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
