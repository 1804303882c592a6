"""Run every benchmark in turn and print their figures: ``python -m benchmarks`` (``make bench``).

Each benchmark is its own module with its own options (``python -m benchmarks.bench_score -h``);
this runs them with their defaults, one process each, so one's warm-up never helps another.
"""

from __future__ import annotations

import subprocess
import sys

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
)


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", f"benchmarks.{name}"]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
