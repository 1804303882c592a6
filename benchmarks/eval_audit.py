"""Evaluate the audit on audiences built from labelled data, and print the figures.

    .venv/bin/python -m benchmarks.eval_audit [--reps 20] [--quick] [--view all] [--only NAME,...]

Audiences of 1,000 followers with a known true fake share (0-70%) are drawn from the labelled
collections in ``<repo>/../shared/datasets/accounts`` (or ``$FOLLOWAUDIT_DATASETS``):

- in domain: ``scoring.train.fit`` on a stratified half of every collection, audiences from the
  other halves, one collection at a time;
- leave one collection out: fit on three collections, audiences from the fourth (the fitted
  model's own validation, with its cv and loco blocks over those three, is what the estimator
  reads, as the shipped model's is; the fourth collection's labels never reach it).

For each it prints the mean absolute error of the estimate (percentage points) against the
audience's actual share, the 95% interval's coverage and mean width, and, for comparison, the
errors of counting ``p > 0.5`` and of the plain probability average, and the share of audiences
the estimator found unlike every validated collection (``unfamiliar``: it then only bounds the
share). Then bursts: a run of
100-200 fakes injected contiguously at a random place into 1,000 mostly genuine followers
(detected if a reported burst has both edges within 10 positions), and audiences in random order
with no injected run (any reported burst is a false one). Fakes are drawn with replacement when a
collection has too few (InstaFake's 200).

Every view (``--view all``, the default) is evaluated with the same trained models: ``full``
(records as collected), ``bluesky`` and ``counts``. Trained models are kept in ``--cache``
(``.cache/eval``), keyed by their training accounts and the scoring code, so a second run
re-audits in seconds; ``--train-only`` fills the cache. An audience is *confidently wrong* when
its interval misses the truth by more than 5 points or its firm grade is two or more letters
from the truth's grade; ``firm`` is the share of audiences given one letter. The labelled
followers of ``instagram-followers-2019`` (real Instagram accounts, about 10% fake) are also
audited whole, as one real audience (the data carries no influencer column to split them by).

With ``--view bluesky`` (or ``counts``) the test accounts are first turned into the records that
platform returns (``scoring.views.as_seen_on``: no likes, lists, ...), and the estimator reads
the validation of the view it picks for them, as an audit does (``--read-as full``: against
full-record validation instead, as before views existed).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._data import datasets_dir, missing
from scoring.account import Account
from scoring.audit.bursts import created_days
from scoring.audit.grade import GRADES, GradeBands, grade_call
from scoring.audit.quantify import METHOD_UNFAMILIAR, ShareEstimate, ShareEstimator, choose_view
from scoring.audit.report import detect_bursts
from scoring.views import FULL, VIEWS, as_seen_on, seen_as

SHARES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7)
#: An interval that misses the true share by more than this is confidently wrong.
MISS = 0.05
N = 1000
#: The collection of real followers, audited whole as a real audience.
REAL = "instagram-followers-2019"
#: The scoring code a trained model depends on: a change to any of it retrains.
_MODEL_CODE = ("account", "boosting", "features", "forest", "histogram", "model", "train", "views")
_BANDS = GradeBands()


def _cache_key(spec: str, accounts: Sequence[Account]) -> str:
    digest = hashlib.sha256(spec.encode())
    for name in _MODEL_CODE:
        path = Path(__file__).resolve().parents[1] / "scoring" / f"{name}.py"
        digest.update(path.read_bytes())
    for a in accounts:
        digest.update(f"{a.source}/{a.id}/{a.label}\n".encode())
    return digest.hexdigest()[:24]


def fit_cached(
    fit: Callable[[Sequence[Account]], Any], spec: str, accounts: Sequence[Account], cache: Path
) -> Any:
    """``fit(accounts)``, or the model a previous run trained on the same accounts and code."""
    from scoring.model import model_from_json

    path = cache / f"{_cache_key(spec, accounts)}.json"
    if path.exists():
        return model_from_json(path.read_text(encoding="utf-8"))
    model = fit(accounts)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(model.to_json(), encoding="utf-8")
    return model


def judge(est: ShareEstimate, truth: float, n: int) -> tuple[bool, bool, bool]:
    """(interval misses by more than 5 points, firm grade given, firm grade 2+ letters off)."""
    assert est.low is not None and est.high is not None
    missed = truth < est.low - MISS or truth > est.high + MISS
    call = grade_call(est, n, _BANDS)
    off = call.grade is not None and (
        abs(GRADES.index(call.grade) - GRADES.index(_BANDS.grade(truth))) >= 2
    )
    return missed, call.grade is not None, off


def load_collections(root: Path) -> dict[str, list[Account]]:
    out: dict[str, list[Account]] = {}
    for path in sorted((root / "accounts").glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
        out[path.stem] = [Account.from_dict(row) for row in rows]
    return out


def split(
    accounts: Sequence[Account], rng: np.random.Generator
) -> tuple[list[Account], list[Account]]:
    """A stratified half/half split by label."""
    train: list[Account] = []
    test: list[Account] = []
    for label in (0, 1):
        rows = [a for a in accounts if a.label == label]
        order = rng.permutation(len(rows))
        half = len(rows) // 2
        train += [rows[i] for i in order[:half]]
        test += [rows[i] for i in order[half:]]
    return train, test


@dataclass
class Pool:
    """Probabilities and creation days of one test collection, split by label."""

    name: str
    p_pos: np.ndarray
    p_neg: np.ndarray
    d_pos: np.ndarray
    d_neg: np.ndarray
    #: The validation view the estimator reads for these accounts (as an audit picks it).
    view: str | None = None


def as_recorded(account: Account) -> Account:
    """The account with the fields its collection never recorded set to unknown, as training
    reads it (``scoring.train.UNRECORDED``: Cresci-2015 has no real ``verified``, twitter-2020
    no display name, ...). A collection's placeholder values are not what a platform returns,
    so scoring them would measure an artefact of the data, not the audit."""
    from scoring.train import UNRECORDED, collection_of

    fields = UNRECORDED.get(collection_of(account), ())
    return dataclasses.replace(account, **dict.fromkeys(fields)) if fields else account


def make_pool(
    name: str,
    model: Any,
    accounts: Sequence[Account],
    view: str = FULL.name,
    read_as: str | None = None,
) -> Pool:
    """Score ``accounts`` as the platform of ``view`` would return them; the estimator reads
    the view the audit picks for them, or ``read_as``."""
    accounts = [as_recorded(a) for a in accounts]
    if view != FULL.name:
        shape = next(v for v in VIEWS if v.name == view)
        accounts = [as_seen_on(a, shape) for a in accounts]
    # the validation the audit reads for them, and the scores its share estimate reads: the
    # audit member's, of the records as that view returns them (``share_probabilities``)
    chosen = read_as or choose_view(model.audit_validation, accounts)
    p = np.asarray(model.predict_audit(seen_as(accounts, chosen)), dtype=np.float64)
    labels = np.asarray([a.label for a in accounts])
    days = created_days([a.created_at for a in accounts])
    return Pool(name, p[labels == 1], p[labels == 0], days[labels == 1], days[labels == 0], chosen)


def draw(values: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(len(values), size=k, replace=k > len(values))


def quantify(pool: Pool, validation: Any, reps: int, rng: np.random.Generator) -> dict[str, Any]:
    err, naive, avg, covered, widths, unfamiliar, missed = [], [], [], [], [], [], []
    firm, wrong = [], []
    estimator = ShareEstimator(validation, pool.view)
    for share in SHARES:
        k = round(share * N)
        for _ in range(reps):
            p = np.concatenate(
                (pool.p_pos[draw(pool.p_pos, k, rng)], pool.p_neg[draw(pool.p_neg, N - k, rng)])
            )
            truth = k / N
            est = estimator.estimate(p)
            assert est.estimate is not None and est.low is not None and est.high is not None
            err.append(abs(est.estimate - truth))
            naive.append(abs(float(np.mean(p > 0.5)) - truth))
            avg.append(abs(float(np.mean(p)) - truth))
            covered.append(est.low <= truth <= est.high)
            miss, graded, off = judge(est, truth, N)
            missed.append(miss)
            firm.append(graded)
            wrong.append(miss or off)
            widths.append(est.high - est.low)
            unfamiliar.append(est.method == METHOD_UNFAMILIAR)
    return {
        "collection": pool.name,
        "view": pool.view,
        "audiences": len(err),
        "mae_pp": 100 * float(np.mean(err)),
        "max_err_pp": 100 * float(np.max(err)),
        "coverage": float(np.mean(covered)),
        "missed_5pp": int(np.sum(missed)),
        "conf_wrong": int(np.sum(wrong)),
        "firm": float(np.mean(firm)),
        "median_width_pp": 100 * float(np.median(widths)),
        "_widths": widths,
        "unfamiliar": float(np.mean(unfamiliar)),
        "count_over_half_mae_pp": 100 * float(np.mean(naive)),
        "average_mae_pp": 100 * float(np.mean(avg)),
    }


def bursts(pool: Pool, validation: Any, reps: int, rng: np.random.Generator) -> dict[str, Any]:
    found = false_alarms = runs = nulls = 0
    estimator = ShareEstimator(validation, pool.view)

    for _ in range(reps):
        for base in (0.0, 0.05, 0.1, 0.2):
            length = int(rng.integers(100, 201))
            start = int(rng.integers(0, N - length + 1))
            k = round(base * (N - length))
            ip = draw(pool.p_pos, k, rng)
            ineg = draw(pool.p_neg, N - length - k, rng)
            around_p = np.concatenate((pool.p_pos[ip], pool.p_neg[ineg]))
            around_d = np.concatenate((pool.d_pos[ip], pool.d_neg[ineg]))
            order = rng.permutation(len(around_p))
            around_p, around_d = around_p[order], around_d[order]
            ir = draw(pool.p_pos, length, rng)
            p = np.concatenate((around_p[:start], pool.p_pos[ir], around_p[start:]))
            d = np.concatenate((around_d[:start], pool.d_pos[ir], around_d[start:]))
            end = start + length - 1
            hits = detect_bursts(p, d, estimator)
            runs += 1
            found += any(abs(b.start - start) <= 10 and abs(b.end - end) <= 10 for b in hits)
        for share in SHARES:
            k = round(share * N)
            ip, ineg = draw(pool.p_pos, k, rng), draw(pool.p_neg, N - k, rng)
            p = np.concatenate((pool.p_pos[ip], pool.p_neg[ineg]))
            d = np.concatenate((pool.d_pos[ip], pool.d_neg[ineg]))
            order = rng.permutation(N)
            nulls += 1
            false_alarms += bool(detect_bursts(p[order], d[order], estimator))
    return {
        "collection": pool.name,
        "injected": runs,
        "detected": found / runs,
        "clean": nulls,
        "false_bursts": false_alarms / nulls,
    }


def _fit_function(spec: str) -> Callable[[Sequence[Account]], Any]:
    module, _, name = spec.partition(":")
    mod = __import__(module, fromlist=[name])
    fn: Callable[[Sequence[Account]], Any] = getattr(mod, name)
    return fn


def _print_table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    if not rows:
        return
    keys = [k for k in rows[0] if not k.startswith("_")]
    print("  " + "  ".join(f"{k:>14}" for k in keys))
    for row in rows:
        cells = [
            f"{row[k]:>14.3f}" if isinstance(row[k], float) else f"{row[k]!s:>14}" for k in keys
        ]
        print("  " + "  ".join(cells))


def _overall(rows: list[dict[str, Any]]) -> str:
    return (
        "  overall: MAE {mae_pp:.2f} pp, coverage {coverage:.3f}, median width "
        "{median_width_pp:.1f} pp, firm grades {firm:.2f}; confidently wrong {conf_wrong} of "
        "{audiences} ({conf_wrong_share:.1%}), of which {missed_5pp} intervals miss by > 5 pp"
    ).format(**_summary(rows))


def _summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    n = sum(r["audiences"] for r in rows)

    def mean(key: str) -> float:
        return sum(r[key] * r["audiences"] for r in rows) / n

    wrong = sum(r["conf_wrong"] for r in rows)
    return {
        "mae_pp": mean("mae_pp"),
        "coverage": mean("coverage"),
        "median_width_pp": 100 * float(np.median([w for r in rows for w in r["_widths"]])),
        "firm": mean("firm"),
        "missed_5pp": sum(r["missed_5pp"] for r in rows),
        "conf_wrong": wrong,
        "conf_wrong_share": wrong / n,
        "audiences": n,
    }


def real_audience(name: str, model: Any, accounts: Sequence[Account], view: str) -> dict[str, Any]:
    """Audit a collection of real followers whole, at its own fake share."""
    pool = make_pool(name, model, accounts, view)
    p = np.concatenate((pool.p_pos, pool.p_neg))
    truth = len(pool.p_pos) / len(p)
    est = ShareEstimator(model.audit_validation, pool.view).estimate(p)
    assert est.estimate is not None and est.low is not None and est.high is not None
    call = grade_call(est, len(p), _BANDS)
    miss, _, off = judge(est, truth, len(p))
    return {
        "audience": name,
        "view": view,
        "followers": len(p),
        "truth_pp": round(100 * truth, 1),
        "estimate_pp": round(100 * est.estimate, 1),
        "interval_pp": f"{100 * est.low:.0f}-{100 * est.high:.0f}",
        "grade": call.label.removeprefix("Grade "),
        "conf_wrong": miss or off,
    }


def main(argv: Sequence[str] | None = None) -> int:
    views = [FULL.name, *(v.name for v in VIEWS)]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=20, help="audiences per share and collection")
    parser.add_argument("--quick", action="store_true", help="in-domain only, 5 repetitions")
    parser.add_argument(
        "--in-domain-only", action="store_true", help="skip leave-one-collection-out (8x faster)"
    )
    parser.add_argument(
        "--only", metavar="NAMES", help="leave out only these collections (comma-separated)"
    )
    parser.add_argument("--fit", default="scoring.train:fit", help="module:function to train")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--json", metavar="PATH", help="also write the figures here")
    parser.add_argument(
        "--cache", default=".cache/eval", metavar="DIR", help="trained models kept here"
    )
    parser.add_argument("--train-only", action="store_true", help="train (fill the cache), no eval")
    parser.add_argument(
        "--view",
        default="all",
        choices=["all", *views],
        help="audit the accounts as this platform returns them (default: every view)",
    )
    parser.add_argument(
        "--read-as",
        choices=views,
        help="read every audience against this view's validation, not the one the audit picks",
    )
    args = parser.parse_args(argv)
    absent = missing("the audit evaluation")
    if absent:
        print(absent, file=sys.stderr)
        return 2
    root = datasets_dir()
    reps = 5 if args.quick else args.reps
    fit = _fit_function(args.fit)
    cache = Path(args.cache)
    collections = load_collections(root)
    chosen = views if args.view == "all" else [args.view]
    only = set(args.only.split(",")) if args.only else None
    folds: list[tuple[str, Any, dict[str, list[Account]]]] = []

    def train(label: str, accounts: Sequence[Account]) -> Any:
        started = time.perf_counter()
        model = fit_cached(fit, args.fit, accounts, cache)
        print(f"{label}: model ready in {time.perf_counter() - started:.1f} s", flush=True)
        return model

    split_rng = np.random.default_rng(args.seed)
    halves = {name: split(rows, split_rng) for name, rows in collections.items()}
    if only is None:
        model = train("in domain", [a for tr, _ in halves.values() for a in tr])
        folds.append(("in_domain", model, {name: test for name, (_, test) in halves.items()}))
    if not (args.quick or args.in_domain_only):
        for name, rows_c in collections.items():
            if only is not None and name not in only:
                continue
            rest = [a for other, r in collections.items() if other != name for a in r]
            folds.append((f"without {name}", train(f"without {name}", rest), {name: rows_c}))
    if args.train_only:
        return 0

    figures: dict[str, Any] = {}
    real_rows = []
    for view in chosen:
        rng = np.random.default_rng(args.seed)
        in_rows: list[dict[str, Any]] = []
        loco_rows: list[dict[str, Any]] = []
        burst_rows: list[dict[str, Any]] = []
        for fold, model, tests in folds:
            for name, accounts in tests.items():
                pool = make_pool(name, model, accounts, view, args.read_as)
                row = quantify(pool, model.audit_validation, reps, rng)
                (in_rows if fold == "in_domain" else loco_rows).append(row)
                if fold == "in_domain":
                    burst_rows.append(bursts(pool, model.audit_validation, reps, rng))
                if name == REAL:
                    real_rows.append({"fold": fold, **real_audience(name, model, accounts, view)})
        for title, rows in (("in domain", in_rows), ("leave one collection out", loco_rows)):
            if rows:
                _print_table(f"Fake share, {title}, view {view}", rows)
                print(_overall(rows))
                public = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
                figures[f"{title.replace(' ', '_')}/{view}"] = {"rows": public, **_summary(rows)}
        if burst_rows:
            _print_table(f"Bursts, in domain, view {view}", burst_rows)
            figures[f"bursts_in_domain/{view}"] = burst_rows
    if real_rows:
        _print_table(f"Real audience: {REAL} audited whole", real_rows)
        figures["real_audiences"] = real_rows
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
