"""Make platform-controlled text safe for each place it is shown.

Every name, handle or reason that came from a platform goes through one of these before it is
put into a message: control characters and line breaks go, length is bounded, chat mentions
(``@everyone``, ``@here``, ``<@id>``) are broken with a zero-width space, and each target's markup
is escaped (Markdown punctuation with a backslash, HTML with entities).
"""

from __future__ import annotations

import html
import re
from typing import Final

__all__ = ["MAX_SHOWN", "clean", "escape_html", "escape_markdown", "escape_plain"]

#: Longest platform string shown; longer ones are cut with an ellipsis.
MAX_SHOWN: Final = 80
_ZWSP: Final = "\u200b"
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
_MENTION: Final = re.compile(r"@(?=(everyone|here)\b)", re.IGNORECASE)
_MD_SPECIAL: Final = re.compile(r"([\\*_~`|>\[\]()#<:!-])")


def clean(text: str, limit: int = MAX_SHOWN) -> str:
    """One line of at most ``limit`` characters, without control or bidi-override characters."""
    text = _CONTROL.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _unmention(text: str) -> str:
    return _MENTION.sub("@" + _ZWSP, text).replace("<@", "<" + _ZWSP + "@")


def escape_plain(text: str, limit: int = MAX_SHOWN) -> str:
    """Plain text: cleaned and with mentions broken."""
    return _unmention(clean(text, limit))


def escape_markdown(text: str, limit: int = MAX_SHOWN) -> str:
    """Discord Markdown: every markup character backslash-escaped, mentions broken."""
    return _MD_SPECIAL.sub(r"\\\1", _unmention(clean(text, limit)))


def escape_html(text: str, limit: int = MAX_SHOWN) -> str:
    """Telegram HTML: ``<``, ``>``, ``&`` and quotes as entities, mentions broken."""
    return html.escape(_unmention(clean(text, limit)), quote=True)
