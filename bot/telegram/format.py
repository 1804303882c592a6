"""Telegram HTML for the bot's messages: escaping and splitting within the Bot API's limits.

Pure functions, no Telegram import. Every platform-controlled string goes through ``escape`` (or
``link``) before it joins markup. Telegram limits a message to 4,096 characters and a caption to
1,024, counted on the text after entity parsing in UTF-16 code units; we count the *markup* in
UTF-16 code units, which is never less, so a part that fits here fits there. Splitting never cuts
inside a tag or an entity (``&amp;``): tags open at a cut are closed at the end of the part and
reopened at the start of the next, so every part is valid on its own.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

__all__ = [
    "CAPTION_LIMIT",
    "MESSAGE_LIMIT",
    "escape",
    "link",
    "split_caption",
    "split_html",
    "truncate_html",
    "utf16_len",
]

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
ELLIPSIS = "…"
_TOKEN = re.compile(r"</?[A-Za-z][^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);|[^<&]+|[<&]")
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][\w-]*)")
#: Text atoms are at most this long, so a part always has room for one after reopened tags.
_MAX_ATOM = 64


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape ``<``, ``>`` and ``&`` (and quotes) so ``text`` shows verbatim in HTML mode."""
    return html.escape(text, quote=True)


def link(url: str, label: str) -> str:
    """``<a href>`` to an http(s) ``url`` with an escaped ``label``; other schemes: label only."""
    if not url.lower().startswith(("https://", "http://")):
        return escape(label)
    return f'<a href="{escape(url)}">{escape(label)}</a>'


@dataclass(frozen=True)
class _Atom:
    text: str
    kind: str  # "open", "close", "text" (entities are text atoms that are never cut)
    name: str = ""
    size: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", utf16_len(self.text))


def _atoms(markup: str) -> list[_Atom]:
    """Tags, entities and short runs of text (cut after newlines and spaces where possible)."""
    atoms: list[_Atom] = []
    for token in _TOKEN.findall(markup):
        if token.startswith("<") and token.endswith(">"):
            match = _TAG_NAME.match(token)
            name = match.group(1).lower() if match else ""
            if token.startswith("</"):
                atoms.append(_Atom(token, "close", name))
            elif token.endswith("/>"):
                atoms.append(_Atom(token, "text"))
            else:
                atoms.append(_Atom(token, "open", name))
        elif token.startswith("&") and token.endswith(";"):
            atoms.append(_Atom(token, "text"))
        else:
            for piece in re.findall(r"[^\n ]*[\n ]?", token):
                atoms.extend(_text_atoms(piece))
    return _balanced(atoms)


def _text_atoms(piece: str) -> list[_Atom]:
    """Escaped text in atoms of at most ``_MAX_ATOM`` units, never cutting an entity."""
    whole = escape(piece)
    if utf16_len(whole) <= _MAX_ATOM:
        return [_Atom(whole, "text")] if whole else []
    atoms: list[_Atom] = []
    current: list[str] = []
    size = 0
    for char in piece:
        escaped = escape(char)
        width = utf16_len(escaped)
        if size + width > _MAX_ATOM:
            atoms.append(_Atom("".join(current), "text"))
            current, size = [], 0
        current.append(escaped)
        size += width
    if current:
        atoms.append(_Atom("".join(current), "text"))
    return atoms


def _balanced(atoms: list[_Atom]) -> list[_Atom]:
    """Drop stray closing tags, repair crossed ones, close what is left open."""
    out: list[_Atom] = []
    stack: list[_Atom] = []
    for atom in atoms:
        if atom.kind == "close":
            names = [open_.name for open_ in stack]
            if atom.name not in names:
                continue
            index = len(names) - 1 - names[::-1].index(atom.name)
            above = stack[index + 1 :]
            out.extend(_Atom(f"</{a.name}>", "close", a.name) for a in reversed(above))
            out.append(atom)
            out.extend(above)
            stack = stack[:index] + above
            continue
        if atom.kind == "open":
            stack.append(atom)
        out.append(atom)
    out.extend(_Atom(f"</{a.name}>", "close", a.name) for a in reversed(stack))
    return out


def _closing(stack: list[_Atom]) -> str:
    return "".join(f"</{atom.name}>" for atom in reversed(stack))


def _apply(stack: list[_Atom], atom: _Atom) -> list[_Atom]:
    if atom.kind == "open":
        return [*stack, atom]
    if atom.kind == "close":
        return stack[:-1]  # balanced input: it closes the innermost tag
    return stack


def split_html(
    markup: str, limit: int = MESSAGE_LIMIT, *, max_parts: int | None = None
) -> list[str]:
    """Split Telegram-HTML into parts of at most ``limit`` UTF-16 units, each valid on its own.

    Prefers cutting after a newline when that keeps a part at least half full, then after a
    space. With ``max_parts``, the last kept part ends with an ellipsis and the rest is dropped.
    """
    if limit < 64:
        raise ValueError("limit too small to split HTML safely")
    atoms = _atoms(markup)
    parts: list[str] = []
    stack: list[_Atom] = []
    i = 0
    while i < len(atoms):
        prefix = "".join(atom.text for atom in stack)
        size = utf16_len(prefix)
        current = list(stack)
        body: list[str] = []
        j = i
        best: tuple[int, list[_Atom], int] | None = None
        while j < len(atoms):
            atom = atoms[j]
            if atom.kind == "close" and (not current or current[-1].name != atom.name):
                j += 1  # closes a tag dropped by a reset below
                continue
            after = _apply(current, atom)
            if size + atom.size + utf16_len(_closing(after)) > limit:
                break
            size += atom.size
            current = after
            body.append(atom.text)
            j += 1
            if atom.kind == "text" and atom.text.endswith("\n") and size >= limit // 2:
                best = (j, list(current), len(body))
        if not body:
            if j >= len(atoms):
                break
            if stack:
                stack = []  # too deeply nested to carry over: restart this part unformatted
                continue
            i = j + 1  # a single tag longer than the limit: drop it
            continue
        if j < len(atoms) and best is not None:
            j, current, kept = best
            body = body[:kept]
        parts.append(prefix + "".join(body) + _closing(current))
        stack, i = current, j
    # Telegram refuses a message with no visible text; a whitespace-only part carries nothing.
    parts = [part for part in parts if re.sub(r"<[^<>]*>", "", part).strip()]
    if max_parts is not None and len(parts) > max_parts:
        parts = [*parts[: max_parts - 1], truncate_html(parts[max_parts - 1] + "…", limit)]
    return parts or [""]


def truncate_html(markup: str, limit: int = CAPTION_LIMIT, ellipsis: str = ELLIPSIS) -> str:
    """The first ``limit`` units of ``markup`` as valid HTML, ending in ``ellipsis`` if cut."""
    if utf16_len(markup) <= limit:
        return markup
    first = split_html(markup, limit - utf16_len(ellipsis))[0]
    closing = re.search(r"(</[^<>]+>)*$", first)
    tail = closing.group(0) if closing else ""
    return first[: len(first) - len(tail)] + ellipsis + tail


def split_caption(markup: str) -> tuple[str, list[str]]:
    """A photo caption (at most 1,024 units) and the rest as messages (at most 4,096 each)."""
    if utf16_len(markup) <= CAPTION_LIMIT:
        return markup, []
    caption_parts = split_html(markup, CAPTION_LIMIT)
    rest = "".join(caption_parts[1:])
    return caption_parts[0], (split_html(rest) if rest.strip() else [])
