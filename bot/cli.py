"""The ``followaudit`` command line: one entry to everything.

Sub-commands import what they need only when they run, so ``followaudit score`` starts fast and
never loads chat or network libraries.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from bot.commands import SettingsError, StartError

#: The input formats ``score`` and ``audit-file`` read; kept here so --help needs no import.
FORMATS = ("auto", "accounts", "twitter-v1", "x-v2", "bluesky", "mastodon", "instafake")

#: What each command's exit status means, printed at the end of its ``-h``.
EXIT_CODES = {
    "score": "0 every row was scored; 1 some rows were skipped (listed on stderr), the rest "
    "scored; 2 bad option, unreadable input or no readable row (an empty input included)",
    "audit-file": "0 every row was read; 1 some rows were skipped (listed on stderr), the rest "
    "audited, or the model could not be loaded; 2 bad option, unreadable input or no readable "
    "row (an empty input included), or the --chart file could not be written (after the report)",
    "audit": "0 reported; 1 the model could not be loaded; 2 bad handle, option or setting, or "
    "the --chart file could not be written (after the report); 3 the platform failed or "
    "returned nothing to audit",
    "worker": "0 stopped (SIGINT or SIGTERM); 2 bad settings, no Redis (the embedded one could "
    "not start) or a --log-file that cannot be written",
    "run": "0 stopped (SIGINT, SIGTERM or end of the console chat); 2 bad settings, no Redis "
    "(the embedded one could not start) or a --log-file that cannot be written",
    "chat": "0 every audit answered; 1 audits were still owed at the end; 2 bad settings, no "
    "Redis (the embedded one could not start) or a log file that cannot be written",
    "export": "0 written (accounts left out are counted on stderr); 2 bad option or setting, "
    "Redis not reachable (or the embedded one could not start), or the --output file could not "
    "be written",
    "run-due": "0 done; 1 an alert was not accepted by its chat platform; "
    "3 a re-audit failed at the platform",
}

#: Each command's one-line summary and the details its ``-h`` adds.
ABOUT = {
    "score": (
        "score accounts: one JSON verdict per input account",
        "Writes {platform, id, handle, fake_probability, reasons, model_version} per account, "
        "in input order. A row that cannot be read is skipped and reported with its line.",
    ),
    "audit-file": (
        "audit a file of followers listed newest first",
        "Reads any format `score` reads, at most 100,000 rows, and reports the fake share with "
        "its interval, the inactive share, the grade, bursts and suspicious samples.",
    ),
    "audit": (
        "audit an account's followers directly (fetch, score, report)",
        "Fetches the newest followers of HANDLE (bsky:alice.bsky.social, @user@example.social, "
        "x:jack, a profile link, ...), scores them and prints the report; no queue.",
    ),
    "worker": (
        "run audit workers on the Redis queue",
        "Takes audits from the Redis queue (FOLLOWAUDIT_REDIS_URL; unset: the embedded local "
        "redis-server) and answers them. SIGTERM finishes or hands back running audits.",
    ),
    "run": (
        "run a worker and every chat adapter that has a token",
        "Runs a worker, the alerts scheduler and every chat adapter with a configured token; "
        "with no FOLLOWAUDIT_REDIS_URL an embedded redis-server is started. Without any chat "
        "token, runs the console chat.",
    ),
    "chat": (
        "console chat: /audit HANDLE lines on stdin, progress and reports on stdout",
        "Reads '/audit bsky:someone [SAMPLE] [fresh]' lines from standard input, prints "
        "progress and each report (plain text) once, and at the end of input waits for every "
        "audit queued. Logs go to a file (--log-file), so the terminal holds the conversation.",
    ),
    "run-due": (
        "run the re-audits due now, post their alerts, exit",
        "Runs once every re-audit that is due now (with --all: every watch), posts what it finds "
        "with the settings `followaudit run` uses, and exits once every alert was accepted by "
        "its chat platform. Never reads chat updates.",
    ),
    "export": (
        "write the labelled accounts as JSON Lines for training",
        "One account a line in the shared account shape, with label (1 fake, 0 genuine) and "
        "source (review/PLATFORM), as `python -m scoring.train --extra FILE` reads it. An "
        "account is labelled when its reviewers agree (can't-tell answers are no vote); those "
        "labelled both ways by different reviewers, and can't-tell ones, are left out and "
        "counted on standard error.",
    ),
}


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps each paragraph of a description on its own and adds "(default: X)" to options."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n\n".join(
            super(_HelpFormatter, self)._fill_text(part, width, indent)
            for part in text.split("\n\n")
        )

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default in (None, False, argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return f"{text} (default: {default})"


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Callable[[argparse.Namespace], int],
) -> argparse.ArgumentParser:
    """A sub-command run by ``handler``, whose ``-h`` gives its one-line summary and details
    (``ABOUT``) and its exit codes."""
    summary, details = ABOUT[name]
    cmd = sub.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{details}",
        epilog=f"exit status: {EXIT_CODES[name]}",
        formatter_class=_HelpFormatter,
    )
    cmd.set_defaults(handler=handler)
    return cmd


class _Version(argparse.Action):
    """``--version``: the program, the packaged model and the Python it runs on."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print versions and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        import platform
        from importlib.metadata import PackageNotFoundError, version

        from scoring.model import ModelError, load_model

        try:
            program = version("followaudit")
        except PackageNotFoundError:
            program = "(not installed)"
        try:
            model = load_model().version
        except ModelError as exc:
            model = f"unreadable ({exc})"
        print(f"followaudit {program}, model {model}, Python {platform.python_version()}")
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="followaudit",
        description="Audit social-media followers for fakes and bought bursts. "
        "`followaudit COMMAND -h` gives each command's options, defaults and exit status.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_score(sub)
    _add_audit_file(sub)
    _add_audit(sub)
    _add_pipeline_commands(sub)
    _add_alerts(sub)
    _add_labels(sub)
    return parser


def _lazy(module: str, function: str = "run") -> Callable[[argparse.Namespace], int]:
    """A handler that imports its command's module only when the command runs."""

    def handler(args: argparse.Namespace) -> int:
        return int(getattr(importlib.import_module(module), function)(args))

    return handler


def _add_score(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    score = _command(sub, "score", _lazy("bot.commands.score"))
    score.add_argument(
        "--input", default="-", metavar="FILE|-", help="accounts to score (default: stdin)"
    )
    score.add_argument(
        "--format", default="auto", choices=FORMATS, help="input format (default: auto)"
    )
    _add_output(score)
    score.add_argument(
        "--observed-at",
        metavar="ISO8601",
        help="when the profiles were seen, for records that do not say (ages are measured then)",
    )


def _add_output(cmd: argparse.ArgumentParser) -> None:
    """Where ``score`` and ``labels export`` write."""
    cmd.add_argument(
        "--output", default="-", metavar="FILE|-", help="where to write (default: stdout)"
    )


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
    cmd = _command(sub, "audit-file", _lazy("bot.commands.audit_file"))
    cmd.add_argument("file", metavar="FILE", help="followers, newest first; - for standard input")
    cmd.add_argument("--format", default="auto", help="input format (default: auto-detect)")
    _add_report_options(cmd)
    cmd.add_argument(
        "--samples", type=int, default=5, metavar="N", help="suspicious accounts shown (1-25)"
    )
    cmd.add_argument("--total", type=int, metavar="N", help="the account's follower count")
    cmd.add_argument(
        "--subject",
        metavar="HANDLE",
        help="whose followers these are (at most 100 characters); titles the report and chart",
    )
    cmd.add_argument("--model", metavar="PATH", help="model artifact (default: the packaged one)")
    cmd.add_argument(
        "--inactive-days", type=int, default=90, metavar="DAYS", help="days of silence = inactive"
    )


def _add_audit(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = _command(sub, "audit", _lazy("bot.commands.audit"))
    cmd.add_argument("handle", metavar="HANDLE", help="the account to audit")
    cmd.add_argument(
        "--sample", type=int, metavar="N", help="followers to read (default and maximum: settings)"
    )
    _add_report_options(cmd)


def _add_pipeline_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The long-running processes, each run by its function in ``bot.commands.pipeline``."""
    cmd = _command(sub, "worker", _lazy("bot.commands.pipeline", "worker"))
    cmd.add_argument(
        "--concurrency", type=int, metavar="N", help="audits at a time (default: settings)"
    )
    _add_log_options(cmd, "standard error, JSON lines")
    cmd = _command(sub, "run", _lazy("bot.commands.pipeline", "run"))
    _add_log_options(cmd, "standard error, JSON lines; the console chat's file without a token")
    cmd = _command(sub, "chat", _lazy("bot.commands.pipeline", "chat"))
    cmd.add_argument(
        "--no-worker", action="store_true", help="only queue: a `followaudit worker` audits"
    )
    _add_log_options(cmd, "$XDG_STATE_HOME/followaudit/console.log, path printed at start")


def _add_log_options(cmd: argparse.ArgumentParser, log_file: str) -> None:
    """A long-running process's ``--log-level`` and ``--log-file`` (``log_file`` says where logs
    go by default)."""
    cmd.add_argument(
        "--log-level", default="info", metavar="LEVEL", help="debug, info, warning or error"
    )
    cmd.add_argument(
        "--log-file",
        metavar="PATH|-",
        help=f"where logs go, - for standard error; a file is private (0600) and rotated at "
        f"10 MB (default: {log_file})",
    )


def _group(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    details: str = "",
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """A command of several actions (``followaudit NAME ACTION``); returns its actions."""
    description = f"{summary[0].upper()}{summary[1:]}{details}."
    group = sub.add_parser(name, help=summary, description=description)
    return group.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")


def _add_alerts(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmds = _group(sub, "alerts", "watched accounts: re-audits and alerts")
    cmd = _command(cmds, "run-due", _lazy("bot.commands.alerts"))
    cmd.add_argument("--all", action="store_true", help="every watch, due or not")
    cmd.add_argument(
        "--log-level", default="warning", metavar="LEVEL", help="debug, info, warning or error"
    )


def _add_labels(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmds = _group(sub, "labels", "the reviewers' labels of followers", " (reviews of audits)")
    cmd = _command(cmds, "export", _lazy("bot.commands.labels"))
    cmd.add_argument(
        "--platform", metavar="P", help="only accounts of this audited platform (e.g. bluesky)"
    )
    _add_output(cmd)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SettingsError as exc:
        print(f"followaudit: invalid setting {exc}", file=sys.stderr)
        return 2
    except StartError as exc:
        print(f"followaudit: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
