"""``followaudit audit-file FILE``: audit a file of followers listed newest first.

With ``--json`` standard output holds exactly one JSON object (the report's ``to_dict``); every
log and progress line goes to standard error, and none of them states a grade. Exit status: 0
done, 1 the model cannot be loaded, 2 the input or an option is unusable.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from bot.commands import progress_to_stderr, show_report
from scoring.audit import AuditConfig, render_json, score_and_report
from scoring.audit.samples import MAX_SAMPLES
from scoring.loaders import FORMATS, LoadError, LoadResult, load_accounts

log = logging.getLogger("followaudit.audit_file")

#: Longest input read: the audit is meant for samples, not whole follower graphs.
MAX_ROWS = 100_000
_SHOWN_ERRORS = 5


def _fail(message: str) -> int:
    log.error("%s", message)
    return 2


def _load(path: str, fmt: str) -> LoadResult:
    if path == "-":
        return load_accounts(sys.stdin, fmt, max_rows=MAX_ROWS)
    with open(path, encoding="utf-8", errors="replace") as handle:
        return load_accounts(handle, fmt, max_rows=MAX_ROWS)


def run(args: argparse.Namespace) -> int:
    """Load, score, report; see the module docstring for the output and exit contract."""
    with progress_to_stderr(log):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    if args.format not in FORMATS:
        return _fail(f"unknown --format {args.format!r}; one of: {', '.join(FORMATS)}")
    if not 1 <= args.samples <= MAX_SAMPLES:
        return _fail(f"--samples must be between 1 and {MAX_SAMPLES}, got {args.samples}")
    if args.total is not None and args.total < 0:
        return _fail(f"--total must not be negative, got {args.total}")
    subject = args.subject.strip() if args.subject else None
    if subject is not None and not 0 < len(subject) <= 100:
        return _fail("--subject must be a handle of 1 to 100 characters")
    if args.inactive_days < 1:
        return _fail(f"--inactive-days must be at least 1, got {args.inactive_days}")
    started = time.perf_counter()
    try:
        loaded = _load(args.file, args.format)
    except FileNotFoundError:
        return _fail(f"{args.file}: no such file")
    except (OSError, LoadError) as exc:
        return _fail(f"{args.file}: {exc}")
    for err in loaded.errors[:_SHOWN_ERRORS]:
        log.warning("line %d skipped: %s", err.line, err.message)
    if len(loaded.errors) > _SHOWN_ERRORS:
        log.warning("... and %d more lines skipped", len(loaded.errors) - _SHOWN_ERRORS)
    for warning in loaded.warnings:
        log.warning("warning: %s", warning)
    if not loaded.accounts:
        what = "no row could be read" if loaded.errors else "it holds no followers"
        return _fail(f"{args.file}: nothing to audit, {what}")
    log.info("read %d followers (%s) from %s", len(loaded.accounts), loaded.format, args.file)

    from scoring.model import ModelError, load_model

    try:
        model = load_model(args.model)
    except ModelError as exc:
        log.error("model: %s", exc)
        return 1
    config = AuditConfig(samples=args.samples, inactive_days=args.inactive_days)
    scored, report = score_and_report(
        loaded.accounts, model, config=config, total=args.total, subject=subject
    )
    log.info("audited in %.0f ms", 1000 * (time.perf_counter() - started))

    shown = show_report(
        args, report, scored.probabilities, loaded.accounts, log, lambda: render_json(report)
    )
    if shown:
        return shown
    if loaded.errors:
        log.warning(
            "audited %d followers, skipped %d rows", len(loaded.accounts), len(loaded.errors)
        )
        return 1
    return 0
