"""Profile HTML (a Mastodon ``note``) to plain text, bounded and without a parser to exploit."""

from __future__ import annotations

import html
import re
from typing import Final

from scoring.account import MAX_TEXT

__all__ = ["html_links", "html_to_text"]

#: Input read at most; the text kept is cut again to MAX_TEXT afterwards.
MAX_HTML: Final = 8 * MAX_TEXT

_BREAK = re.compile(r"<\s*(?:br\s*/?|/p\s*)>", re.IGNORECASE)
_TAG = re.compile(r"<[^<>]{0,2048}>")
_HREF = re.compile(r"""href\s*=\s*["']([^"'<>\s]{1,2048})["']""", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\n{3,}")


def html_to_text(value: str) -> str:
    """Drop tags, turn ``<br>`` and ``</p>`` into line breaks, decode entities, trim."""
    value = value[:MAX_HTML]
    value = _BREAK.sub("\n", value)
    value = _TAG.sub("", value)
    value = html.unescape(value).replace("\x00", "")
    value = _SPACES.sub(" ", value)
    value = _LINES.sub("\n\n", value)
    return "\n".join(line.strip() for line in value.split("\n")).strip()[:MAX_TEXT]


def html_links(value: str) -> list[str]:
    """The ``href`` targets in a fragment, in order (at most 16)."""
    return [html.unescape(m) for m in _HREF.findall(value[:MAX_HTML])][:16]
