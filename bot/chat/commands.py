"""``/audit HANDLE [SAMPLE] [fresh]`` (or a bare handle or profile link) into an AuditRequest.

Pure: no chat library. Every error is a ``CommandError`` whose message is one line for the chat,
with an example, so adapters answer it as is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from bot.pipeline.messages import Audited, AuditRequest, ReplyTo
from bot.settings import Settings
from bot.sources.errors import BadHandle
from bot.sources.handles import ACCEPTED_FORMS, Handle, parse_configured

__all__ = [
    "EXAMPLE",
    "HELP_LINES",
    "AuditCommand",
    "CommandError",
    "build_request",
    "looks_like_handle",
    "parse_audit_args",
    "read_handle",
]

EXAMPLE: Final = "/audit bsky:alice.bsky.social"
#: The help, line by line (adapters add their own markup).
HELP_LINES: Final = (
    "I audit the followers of a social-media account: how many look fake, inactive or bought "
    "in bursts.",
    "Use: /audit HANDLE [SAMPLE] [fresh], e.g. /audit bsky:alice.bsky.social 500",
    "Handles: " + ACCEPTED_FORMS + ".",
    "Platforms: Bluesky, Mastodon and X (a bare @name means the default platform).",
    "Or send a follower export (CSV, JSON or JSON Lines) as a file, with /audit in the caption "
    "in a group.",
    "SAMPLE is how many of the newest followers to read; fresh skips a cached result.",
)
_FRESH: Final = frozenset({"fresh", "--fresh", "new"})
_MAX_WORDS: Final = 3


class CommandError(ValueError):
    """What the user typed cannot be run; ``str()`` is a one-line answer with an example."""


@dataclass(frozen=True, slots=True)
class AuditCommand(Audited):
    """A parsed audit command: the normalised handle, the sample size, fresh or cached."""


def _one_line(text: str, limit: int = 400) -> str:
    return " ".join(text.split())[:limit]


def parse_audit_args(args: Sequence[str], settings: Settings) -> AuditCommand:
    """The words after ``/audit``: a handle, then optionally a sample size and ``fresh``."""
    words = [w for w in args if w]
    if not words:
        raise CommandError(f"Give a handle to audit, e.g. {EXAMPLE}")
    if len(words) > _MAX_WORDS:
        raise CommandError(f"Too many words; use /audit HANDLE [SAMPLE] [fresh], e.g. {EXAMPLE}")
    sample = settings.sample.default
    fresh = False
    for extra in words[1:]:
        if extra.lower() in _FRESH:
            fresh = True
        elif extra.isdigit() and len(extra) <= 9:
            sample = max(1, min(int(extra), settings.sample.max))
        else:
            raise CommandError(
                f"{_one_line(extra, 40)!r} is neither a sample size nor 'fresh', e.g. {EXAMPLE} 500"
            )
    handle = read_handle(words[0], settings, EXAMPLE)
    return AuditCommand(handle.platform, handle.handle, sample, fresh)


def read_handle(
    word: str, settings: Settings, example: str, shown: Callable[[str], str] = _one_line
) -> Handle:
    """The account ``word`` names, or a ``CommandError`` saying why not (as ``shown``) and
    ending with ``example``."""
    try:
        return parse_configured(word, settings)
    except BadHandle as exc:
        raise CommandError(f"{shown(str(exc))} E.g. {example}") from None


def looks_like_handle(text: str) -> bool:
    """Whether a plain private message is meant as a handle (one word, or a word and a
    number): anything else gets the help line rather than an audit."""
    words = text.split()
    return 1 <= len(words) <= _MAX_WORDS and len(text) <= 400


def build_request(command: AuditCommand, *, user: str, chat: str, reply: ReplyTo) -> AuditRequest:
    """The pipeline request for a parsed command."""
    return AuditRequest(
        user=user,
        chat=chat,
        reply=reply,
        platform=command.platform,
        handle=command.handle,
        sample=command.sample,
        fresh=command.fresh,
        options=dict(command.options),
    )
