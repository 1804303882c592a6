"""Discord Markdown and embeds for the bot's messages: escaping, links, limits, no mentions.

Pure functions over plain dicts (the JSON Discord takes), no discord.py import, so they are
tested plainly and work for discord.py (``discord.Embed.from_dict``) or raw REST alike.

* ``escape_markdown`` makes a platform-controlled string (a display name, a bio) show verbatim:
  every Markdown control character gets a backslash (Discord drops a backslash before any ASCII
  punctuation, so over-escaping is invisible), ``@everyone``/``@here`` get a zero-width space,
  and ``<@id>``-style mentions, masked links ``[x](http://…)`` and headings are neutralised.
* ``fit_embed`` trims an embed to Discord's limits (title 256, description 4,096, 25 fields,
  field name 256 and value 1,024, footer 2,048, author 256, 6,000 in all) and never fails.
* ``allowed_mentions_none`` is the ``allowed_mentions`` payload that pings nobody; send it on
  every message (discord.py: ``discord.AllowedMentions.none()``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from scoring.audit.escape import clean

__all__ = [
    "CONTENT_LIMIT",
    "EMBED_LIMITS",
    "allowed_mentions_none",
    "embed_size",
    "escape_markdown",
    "fit_embed",
    "fit_embeds",
    "masked_link",
    "truncate",
]

CONTENT_LIMIT = 2000
EMBED_LIMITS: Mapping[str, int] = {
    "title": 256,
    "description": 4096,
    "fields": 25,
    "field_name": 256,
    "field_value": 1024,
    "footer": 2048,
    "author": 256,
    "total": 6000,
    "embeds": 10,
}
ELLIPSIS = "…"
ZWSP = "\u200b"
_SPECIAL = re.compile(r"([\\*_`~|>\[\]()<#:\-])")
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
_NUMBERED_LIST = re.compile(r"^(\s*\d+)\.", re.MULTILINE)


def escape_markdown(text: str, limit: int | None = None) -> str:
    """``text`` shown literally in Discord: no formatting, no links, no mentions, no headings.
    With ``limit`` (platform text in one line: names, handles, reasons), first cleaned to one
    line of at most ``limit`` characters without control or bidi-override characters."""
    if limit is not None:
        text = clean(text, limit)
    escaped = _SPECIAL.sub(r"\\\1", text)
    escaped = _NUMBERED_LIST.sub(r"\1\\.", escaped)
    return _MASS_MENTION.sub(lambda m: f"@{ZWSP}{m.group(1)}", escaped)


def masked_link(label: str, url: str) -> str:
    """``[label](<url>)`` with an escaped label; a non-https(s) ``url`` gives the label alone."""
    if not url.lower().startswith(("https://", "http://")):
        return escape_markdown(label)
    safe_url = quote(url, safe=":/?#[]@!$&'*+,;=%~-._")
    safe_url = safe_url.replace("(", "%28").replace(")", "%29").replace(">", "%3E")
    return f"[{escape_markdown(label)}](<{safe_url}>)"


def allowed_mentions_none() -> dict[str, list[str]]:
    """The ``allowed_mentions`` payload that notifies nobody (a fresh dict each call)."""
    return {"parse": []}


def truncate(text: str, limit: int, *, ellipsis: str = ELLIPSIS, at_newline: bool = True) -> str:
    """At most ``limit`` characters, ending in ``ellipsis`` when cut.

    Cuts after the last newline when that keeps at least half, so a list of lines loses whole
    lines; never leaves a dangling escape backslash that would swallow the ellipsis.
    """
    if len(text) <= limit:
        return text
    if limit <= len(ellipsis):
        return ellipsis[:limit]
    head = text[: limit - len(ellipsis)]
    if at_newline:
        newline = head.rfind("\n")
        if newline >= limit // 2:
            head = head[: newline + 1]
    trailing = len(head) - len(head.rstrip("\\"))
    if trailing % 2:
        head = head[:-1]
    return head + ellipsis


def embed_size(embed: Mapping[str, Any]) -> int:
    """Characters that count towards Discord's 6,000 per message (as Discord counts them)."""
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "")
    size += len((embed.get("author") or {}).get("name") or "")
    for item in embed.get("fields") or []:
        size += len(str(item.get("name") or "")) + len(str(item.get("value") or ""))
    return size


def _trim_parts(embed: dict[str, Any]) -> None:
    limits = EMBED_LIMITS
    if "title" in embed and embed["title"] is not None:
        embed["title"] = truncate(str(embed["title"]), limits["title"], at_newline=False)
    if "description" in embed and embed["description"] is not None:
        embed["description"] = truncate(str(embed["description"]), limits["description"])
    for key, limit in (("footer", limits["footer"]), ("author", limits["author"])):
        part = embed.get(key)
        if isinstance(part, Mapping):
            inner = "text" if key == "footer" else "name"
            part = dict(part)
            if part.get(inner) is not None:
                part[inner] = truncate(str(part[inner]), limit, at_newline=False)
            embed[key] = part
    fields = []
    for item in list(embed.get("fields") or [])[: limits["fields"]]:
        name = truncate(str(item.get("name") or ""), limits["field_name"], at_newline=False)
        value = truncate(str(item.get("value") or ""), limits["field_value"])
        fields.append({**item, "name": name or ZWSP, "value": value or ZWSP})
    if "fields" in embed:
        embed["fields"] = fields


def fit_embed(embed: Mapping[str, Any], total: int = EMBED_LIMITS["total"]) -> dict[str, Any]:
    """A copy of ``embed`` within every Discord limit and at most ``total`` counted characters.

    Over the total, the description shrinks first, then fields go from the end, then the footer,
    the author and the title shrink: the grade in the title goes last.
    """
    fitted: dict[str, Any] = dict(embed)
    _trim_parts(fitted)
    excess = embed_size(fitted) - total
    if excess > 0 and fitted.get("description"):
        description = str(fitted["description"])
        keep = max(len(description) - excess, 0)
        fitted["description"] = truncate(description, keep) if keep else None
        if fitted["description"] is None:
            del fitted["description"]
    while embed_size(fitted) > total and fitted.get("fields"):
        fitted["fields"] = fitted["fields"][:-1]
    for key, inner in (("footer", "text"), ("author", "name")):
        excess = embed_size(fitted) - total
        part = fitted.get(key)
        if excess > 0 and isinstance(part, Mapping) and part.get(inner):
            text = str(part[inner])
            keep = max(len(text) - excess, 0)
            if keep:
                fitted[key] = {**part, inner: truncate(text, keep, at_newline=False)}
            else:
                del fitted[key]  # Discord requires the text of a footer or an author
    excess = embed_size(fitted) - total
    if excess > 0 and fitted.get("title"):
        title = str(fitted["title"])
        fitted["title"] = truncate(title, max(len(title) - excess, 0), at_newline=False)
    return fitted


def fit_embeds(embeds: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Embeds for one message: at most 10, sharing the 6,000 total, the first ones kept whole."""
    fitted: list[dict[str, Any]] = []
    budget = EMBED_LIMITS["total"]
    for embed in list(embeds)[: EMBED_LIMITS["embeds"]]:
        if budget <= 0:
            break
        one = fit_embed(embed, budget)
        budget -= embed_size(one)
        fitted.append(one)
    return fitted
