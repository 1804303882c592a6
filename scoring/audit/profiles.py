"""Where an account's profile lives on its platform, and how to show its handle."""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import quote

__all__ = ["display_handle", "profile_url"]

_HOST: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}\.)+[a-z0-9-]{1,63}$")
_SAFE: Final = ".-_~"


def _part(text: str) -> str:
    return quote(text, safe=_SAFE)


def profile_url(platform: str, handle: str | None) -> str | None:
    """The public profile address, or ``None`` when the handle or platform gives none.

    bluesky: ``https://bsky.app/profile/<handle>``; mastodon ``user@instance``:
    ``https://<instance>/@<user>``; x and twitter: ``https://x.com/<handle>``; instagram:
    ``https://www.instagram.com/<handle>/``. Every part is percent-encoded.
    """
    if not handle:
        return None
    handle = handle.removeprefix("@")
    platform = platform.lower()
    if platform == "bluesky":
        return f"https://bsky.app/profile/{_part(handle)}"
    if platform == "mastodon":
        user, _, host = handle.partition("@")
        host = host.lower()
        if not user or not _HOST.match(host):
            return None
        return f"https://{host}/@{_part(user)}"
    if platform in ("x", "twitter"):
        return f"https://x.com/{_part(handle)}"
    if platform == "instagram":
        return f"https://www.instagram.com/{_part(handle)}/"
    return None


def display_handle(platform: str, account_id: str, handle: str | None) -> str:
    """``@handle``, or ``<platform> account <id>`` for anonymised records (raw: escape it)."""
    if handle:
        return "@" + handle.removeprefix("@")
    return f"{platform} account {account_id}"
