"""``followaudit score`` end to end against the standard library's own parse and re-serialise.

    .venv/bin/python -m benchmarks.bench_cli_score [--n 100000] [--repeats 3]

Writes ``--n`` synthetic accounts (neutral JSON Lines, some fields missing) to a temporary file,
then times, best of ``--repeats``: (a) ``json.loads`` + ``json.dumps`` of every line in one
process, the issue's baseline; (b) the whole ``followaudit score --input FILE --output FILE`` as a
fresh process (start-up, loading, features, model, reasons, output). Target: (b) <= 2 x (a).
Also the cold start of ``followaudit score`` on 10 accounts (target < 0.5 s).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_score import synthetic_accounts


def stdlib_round_trip(src: Path, dst: Path) -> float:
    t0 = time.perf_counter()
    with src.open(encoding="utf-8") as fin, dst.open("w", encoding="utf-8") as fout:
        for line in fin:
            fout.write(json.dumps(json.loads(line), ensure_ascii=False) + "\n")
    return time.perf_counter() - t0


def score_command(src: Path, dst: Path) -> float:
    cmd = [sys.executable, "-m", "bot.cli", "score", "--input", str(src), "--output", str(dst)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "accounts.jsonl", Path(tmp) / "out.jsonl"
        with src.open("w", encoding="utf-8") as fh:
            for account in synthetic_accounts(args.n):
                fh.write(json.dumps(account.to_dict(), ensure_ascii=False) + "\n")
        ten = Path(tmp) / "ten.jsonl"
        ten.write_text("".join(src.open(encoding="utf-8").readlines()[:10]), encoding="utf-8")
        base = min(stdlib_round_trip(src, out) for _ in range(args.repeats))
        whole = min(score_command(src, out) for _ in range(args.repeats))
        cold = min(score_command(ten, out) for _ in range(max(3, args.repeats)))
        size = src.stat().st_size
    n = args.n
    print(f"accounts: {n:,} ({size / 1e6:.1f} MB of JSON Lines)")
    print(f"stdlib json.loads + json.dumps per line: {base:6.2f} s  {n / base:10,.0f} rows/s")
    print(f"followaudit score (whole process):       {whole:6.2f} s  {n / whole:10,.0f} rows/s")
    print(f"ratio score / stdlib:                    {whole / base:6.2f}  (target <= 2)")
    print(f"cold start, followaudit score on 10 accounts: {cold * 1e3:.0f} ms  (target < 500 ms)")


if __name__ == "__main__":
    main()
