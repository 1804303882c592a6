"""The ``followaudit`` command line: one entry to everything.

Sub-commands import what they need only when they run, so ``followaudit score`` starts fast and
never loads chat or network libraries.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

#: The input formats ``score`` and ``audit-file`` read; kept here so --help needs no import.
FORMATS = ("auto", "accounts", "twitter-v1", "x-v2", "bluesky", "mastodon", "instafake")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="followaudit", description="Audit social-media followers for fakes and bought bursts."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    return parser


def _lazy(module: str) -> Callable[[argparse.Namespace], int]:
    """A handler that imports its command's module only when the command runs."""

    def handler(args: argparse.Namespace) -> int:
        return int(importlib.import_module(module).run(args))

    return handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
