"""The ``followaudit`` command line: one entry to everything.

Sub-commands import what they need only when they run, so ``followaudit score`` starts fast and
never loads chat or network libraries.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from bot.commands import SettingsError

#: The input formats ``score`` and ``audit-file`` read; kept here so --help needs no import.
FORMATS = ("auto", "accounts", "twitter-v1", "x-v2", "bluesky", "mastodon", "instafake")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="followaudit", description="Audit social-media followers for fakes and bought bursts."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_score(sub)
    _add_audit_file(sub)
    _add_audit(sub)
    _add_pipeline_commands(sub)
    _add_alerts(sub)
    return parser


def _lazy(module: str) -> Callable[[argparse.Namespace], int]:
    """A handler that imports its command's module only when the command runs."""

    def handler(args: argparse.Namespace) -> int:
        return int(importlib.import_module(module).run(args))

    return handler


def _add_score(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    score = sub.add_parser("score", help="score accounts: one JSON verdict per input account")
    score.add_argument(
        "--input", default="-", metavar="FILE|-", help="accounts to score (default: stdin)"
    )
    score.add_argument(
        "--format", default="auto", choices=FORMATS, help="input format (default: auto)"
    )
    score.add_argument(
        "--output", default="-", metavar="FILE|-", help="where to write (default: stdout)"
    )
    score.add_argument(
        "--observed-at",
        metavar="ISO8601",
        help="when the profiles were seen, for records that do not say (ages are measured then)",
    )
    score.set_defaults(handler=_lazy("bot.commands.score"))


def _add_report_options(cmd: argparse.ArgumentParser) -> None:
    """How ``audit`` and ``audit-file`` print their report."""
    cmd.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    cmd.add_argument(
        "--render",
        choices=("text", "markdown", "html"),
        default="text",
        help="rendering without --json (default: text)",
    )
    cmd.add_argument("--chart", metavar="PNG", help="also write the burst chart to this file")


def _add_audit_file(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "audit-file",
        help="audit a file of followers listed newest first",
        description="Audit a file of followers listed newest first (any format `score` reads): "
        "fake share with its interval, inactive share, grade, bursts, suspicious samples.",
    )
    cmd.add_argument("file", metavar="FILE", help="followers, newest first; - for standard input")
    cmd.add_argument("--format", default="auto", help="input format (default: auto-detect)")
    _add_report_options(cmd)
    cmd.add_argument(
        "--samples", type=int, default=5, metavar="N", help="suspicious accounts shown (1-25)"
    )
    cmd.add_argument("--total", type=int, metavar="N", help="the account's follower count")
    cmd.add_argument("--model", metavar="PATH", help="model artifact (default: the packaged one)")
    cmd.add_argument(
        "--inactive-days", type=int, default=90, metavar="DAYS", help="days of silence = inactive"
    )
    cmd.set_defaults(handler=_lazy("bot.commands.audit_file"))


def _add_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "audit",
        help="audit an account's followers directly (fetch, score, report)",
        description="Fetch the newest followers of HANDLE (bsky:alice.bsky.social, "
        "@user@example.social, x:jack, a profile link, ...), score them and print the report. "
        "Exit 0 done, 2 bad handle or option, 3 platform error.",
    )
    cmd.add_argument("handle", metavar="HANDLE", help="the account to audit")
    cmd.add_argument(
        "--sample", type=int, metavar="N", help="followers to read (default and maximum: settings)"
    )
    _add_report_options(cmd)
    cmd.set_defaults(handler=_lazy("bot.commands.audit"))


def _add_pipeline_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    log_level = {"default": None, "metavar": "LEVEL", "help": "debug, info, warning or error"}
    cmd = sub.add_parser(
        "worker",
        help="run audit workers on the Redis queue",
        description="Take audits from the Redis queue (FOLLOWAUDIT_REDIS_URL; unset: the "
        "embedded local redis-server) and answer them. SIGTERM finishes or hands back "
        "running audits.",
    )
    cmd.add_argument("--concurrency", type=int, metavar="N", help="audits at a time")
    cmd.add_argument("--log-level", **{**log_level, "default": "info"})  # type: ignore[arg-type]
    cmd.set_defaults(handler=_run_pipeline("worker"))
    cmd = sub.add_parser(
        "run",
        help="run a worker and every chat adapter that has a token",
        description="Run a worker and every chat adapter with a configured token; with no "
        "FOLLOWAUDIT_REDIS_URL an embedded redis-server is started. Without any chat token, "
        "runs the console chat.",
    )
    cmd.add_argument("--log-level", **{**log_level, "default": "info"})  # type: ignore[arg-type]
    cmd.set_defaults(handler=_run_pipeline("run"))
    cmd = sub.add_parser(
        "chat",
        help="console chat: /audit HANDLE lines on stdin, progress and reports on stdout",
        description="Read '/audit bsky:someone [SAMPLE] [fresh]' lines from standard input, "
        "print progress and each report (plain text) once, and at the end of input wait for "
        "every audit queued, then exit 0.",
    )
    cmd.add_argument(
        "--no-worker", action="store_true", help="only queue: a `followaudit worker` audits"
    )
    cmd.add_argument("--log-level", **{**log_level, "default": "warning"})  # type: ignore[arg-type]
    cmd.set_defaults(handler=_run_pipeline("chat"))


def _run_pipeline(name: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from bot.commands import pipeline

        result: int = getattr(pipeline, name)(args)
        return result

    return handler


def _add_alerts(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    alerts = sub.add_parser("alerts", help="watched accounts: re-audits and alerts")
    cmds = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    cmd = cmds.add_parser(
        "run-due",
        help="run the re-audits due now, post their alerts, exit",
        description="Run once every re-audit that is due now (with --all: every watch), post "
        "what it finds with the settings `followaudit run` uses, and exit once every alert was "
        "accepted by its chat platform. Never reads chat updates. Exit 0 done, 1 an alert was "
        "not accepted, 3 a re-audit failed at the platform.",
    )
    cmd.add_argument("--all", action="store_true", help="every watch, due or not")
    cmd.add_argument("--log-level", default="warning", metavar="LEVEL", help="log level")
    cmd.set_defaults(handler=_lazy("bot.alerts.cli"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SettingsError as exc:
        print(f"followaudit: invalid setting {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
