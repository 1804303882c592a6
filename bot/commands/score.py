"""``followaudit score``: one JSON verdict per input account, in input order."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from json.encoder import encode_basestring
from typing import TextIO

from scoring.account import Account, parse_datetime
from scoring.loaders import LoadError, Reader, RowError
from scoring.model import Model, ModelError, Verdict, load_model

#: A string as JSON, non-ASCII kept (what ``json.dumps(..., ensure_ascii=False)`` writes).
_quote: Callable[[str], str] = encode_basestring

#: Accounts scored per batch: large enough for numpy to pay off, small enough to stream.
BATCH = 8192
#: Unreadable rows listed one by one on stderr before the rest are only counted.
MAX_LISTED_ERRORS = 100


class Skipped:
    """Rows skipped: every one counted, only the first ``MAX_LISTED_ERRORS`` kept to list, so
    memory stays bounded however much of the input is junk."""

    def __init__(self) -> None:
        self.count = 0
        self.listed: list[RowError] = []

    def add(self, error: RowError) -> None:
        self.count += 1
        if len(self.listed) < MAX_LISTED_ERRORS:
            self.listed.append(error)


def _batches(items: Iterator[Account | RowError], skipped: Skipped) -> Iterator[list[Account]]:
    batch: list[Account] = []
    for item in items:
        if isinstance(item, RowError):
            skipped.add(item)
            continue
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def verdict_line(verdict: Verdict, version_json: str) -> str:
    """``json.dumps(verdict.to_dict(version), ensure_ascii=False)``, to the byte, built directly
    (the dict and the generic encoder cost more than the scoring of the row)."""
    handle = "null" if verdict.handle is None else _quote(verdict.handle)
    reasons = ", ".join(map(_quote, verdict.reasons))
    return (
        f'{{"platform": {_quote(verdict.platform)}, "id": {_quote(verdict.id)}, '
        f'"handle": {handle}, "fake_probability": {float.__repr__(verdict.fake_probability)}, '
        f'"reasons": [{reasons}], "model_version": {version_json}}}'
    )


def _write(model: Model, accounts: list[Account], out: TextIO) -> None:
    version = _quote(model.version)
    lines = [verdict_line(v, version) for v in model.score(accounts).verdicts]
    lines.append("")
    out.write("\n".join(lines))


def run(args: argparse.Namespace) -> int:
    try:
        observed_at = (
            parse_datetime(args.observed_at, "--observed-at") if args.observed_at else None
        )
    except ValueError as exc:
        print(f"followaudit score: {exc}", file=sys.stderr)
        return 2
    try:
        model = load_model()
    except ModelError as exc:
        print(f"followaudit score: {exc}", file=sys.stderr)
        return 2
    skipped = Skipped()
    scored = 0
    with ExitStack() as stack:
        try:
            src: TextIO = (
                sys.stdin
                if args.input == "-"
                else stack.enter_context(open(args.input, encoding="utf-8", errors="replace"))
            )
            out: TextIO = (
                sys.stdout
                if args.output == "-"
                else stack.enter_context(open(args.output, "w", encoding="utf-8"))
            )
        except OSError as exc:
            print(f"followaudit score: {exc.strerror}: {exc.filename}", file=sys.stderr)
            return 2
        try:
            reader = Reader(src, args.format, observed_at)
            for batch in _batches(iter(reader), skipped):
                _write(model, batch, out)
                scored += len(batch)
        except LoadError as exc:
            print(f"followaudit score: {exc}", file=sys.stderr)
            return 2
    warning = reader.format_warning()
    if warning:
        print(f"followaudit score: warning: {warning}", file=sys.stderr)
    for err in skipped.listed:
        print(f"skipped line {err.line}: {err.message}", file=sys.stderr)
    if skipped.count > len(skipped.listed):
        print(f"... and {skipped.count - len(skipped.listed)} more skipped rows", file=sys.stderr)
    if not scored:
        what = "no row could be read" if skipped.count else "the input holds no accounts"
        print(f"followaudit score: nothing to score, {what}", file=sys.stderr)
        return 2
    if skipped.count:
        print(
            f"followaudit score: scored {scored} accounts, skipped {skipped.count} rows",
            file=sys.stderr,
        )
        return 1
    return 0
