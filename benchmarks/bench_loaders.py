"""Loader speed: ``load_accounts`` on neutral JSON Lines against plain json.loads/json.dumps.

    python -m benchmarks.bench_loaders [--rows 100000] [--data ../shared/datasets/accounts]

Prints seconds and rows per second for: json.loads per line; json.loads + json.dumps per line
(the issue's baseline for the whole ``followaudit score``); ``load_accounts``. Each reads the
same temporary file: the shared ``accounts/*.jsonl`` concatenated and repeated to ``--rows``
lines. Best of ``--repeat`` runs; the machine's other load shows as noise, the ratio is the figure.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks._data import datasets_dir
from scoring.loaders import load_accounts

DEFAULT_DATA = datasets_dir() / "accounts"


def _lines(data: Path, rows: int) -> list[str]:
    base: list[str] = []
    for path in sorted(data.glob("*.jsonl")):
        base.extend(path.read_text(encoding="utf-8").splitlines(keepends=True))
    if not base:
        raise SystemExit(f"no *.jsonl under {data}")
    return (base * (rows // len(base) + 1))[:rows]


def _best(fn: object, repeat: int) -> float:
    assert callable(fn)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    lines = _lines(args.data, args.rows)
    n = len(lines)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accounts.jsonl"
        path.write_text("".join(lines), encoding="utf-8")

        def loads_only() -> None:
            with path.open(encoding="utf-8") as source:
                for line in source:
                    json.loads(line)

        def loads_dumps() -> None:
            with path.open(encoding="utf-8") as source:
                for line in source:
                    json.dumps(json.loads(line))

        def loader() -> None:
            with path.open(encoding="utf-8") as source:
                result = load_accounts(source)
            assert len(result.accounts) == n and not result.errors

        figures = {
            "json.loads": _best(loads_only, args.repeat),
            "json.loads+dumps (baseline)": _best(loads_dumps, args.repeat),
            "load_accounts": _best(loader, args.repeat),
        }
    base = figures["json.loads+dumps (baseline)"]
    print(f"rows: {n}")
    for name, seconds in figures.items():
        print(f"{name:30s} {seconds:7.3f} s  {n / seconds:10,.0f} rows/s  {seconds / base:5.2f}x")


if __name__ == "__main__":
    main()
