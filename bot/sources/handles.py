"""Parse what a user types into one normalised ``Handle(platform, handle)``; pure, no I/O.

Accepted forms (a contract, issue 4)::

    bsky:alice.bsky.social     @alice.bsky.social     https://bsky.app/profile/alice.bsky.social
    mastodon:@user@example.social    @user@example.social    https://example.social/@user
    x:jack    twitter:jack    https://x.com/jack    https://twitter.com/jack

plus a bare ``@name`` (or ``name``) that goes to the configured default platform. Normal forms:
Bluesky handles lower-case without ``@`` (or a ``did:plc:``/``did:web:`` DID), Mastodon
``user@instance`` lower-case, X screen names lower-case (X treats them case-insensitively).

Input is untrusted: only printable ASCII is read (control, zero-width, bidi and look-alike
characters are refused), length is bounded, percent-encoding, user-info, ports and backslashes
in URLs are refused, and only ``http``/``https`` URLs on known hosts are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from bot.settings import Settings
from bot.sources.errors import BadHandle

__all__ = ["ACCEPTED_FORMS", "MAX_INPUT", "PLATFORMS", "Handle", "parse_configured", "parse_handle"]

PLATFORMS: Final = ("bluesky", "mastodon", "x")
MAX_INPUT: Final = 300

ACCEPTED_FORMS: Final = (
    "bsky:alice.bsky.social, @alice.bsky.social, https://bsky.app/profile/alice.bsky.social, "
    "mastodon:@user@example.social, @user@example.social, https://example.social/@user, "
    "x:jack, twitter:jack, https://x.com/jack"
)

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# atproto handle syntax: two or more labels, the last (TLD) starting with a letter, <= 253 chars.
_BSKY_HANDLE: Final = re.compile(rf"(?:{_LABEL}\.)+[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])?")
_DID_PLC: Final = re.compile(r"did:plc:[a-z2-7]{24}")
_DID_WEB: Final = re.compile(rf"did:web:(?:{_LABEL}\.)+[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])?")
_HOSTNAME: Final = _BSKY_HANDLE  # same shape: dotted DNS labels, alphabetic TLD
_MASTO_USER: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]{0,62}[a-z0-9_])?")
_X_NAME: Final = re.compile(r"[a-z0-9_]{1,15}")
_BARE_NAME: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,62})")

_PREFIXES: Final = {
    "bsky": "bluesky",
    "bluesky": "bluesky",
    "mastodon": "mastodon",
    "masto": "mastodon",
    "x": "x",
    "twitter": "x",
}
_BSKY_HOSTS: Final = frozenset({"bsky.app", "www.bsky.app", "staging.bsky.app"})
_X_HOSTS: Final = frozenset(
    {"x.com", "www.x.com", "mobile.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com"}
)
# First path segments on x.com that are pages, not accounts.
_X_RESERVED: Final = frozenset(
    {
        "home",
        "i",
        "search",
        "explore",
        "settings",
        "notifications",
        "messages",
        "intent",
        "share",
        "login",
        "logout",
        "signup",
        "tos",
        "privacy",
        "compose",
        "hashtag",
    }
)


@dataclass(frozen=True, slots=True)
class Handle:
    """One account on one platform, normalised so that equal accounts compare equal."""

    platform: str  # "bluesky", "mastodon" or "x"
    handle: str  # alice.bsky.social / did:plc:..., user@instance, jack

    def __str__(self) -> str:
        prefix = {"bluesky": "bsky"}.get(self.platform, self.platform)
        return f"{prefix}:{self.handle}"

    @property
    def instance(self) -> str | None:
        """The Mastodon instance of the handle, else ``None``."""
        if self.platform != "mastodon":
            return None
        return self.handle.rpartition("@")[2]

    @property
    def is_did(self) -> bool:
        return self.handle.startswith("did:")


def _bad(reason: str) -> BadHandle:
    return BadHandle(f"{reason}. Try one of: {ACCEPTED_FORMS}.")


def _bluesky(text: str) -> Handle:
    text = text.lower()
    if text.startswith("did:"):
        if _DID_PLC.fullmatch(text) or (_DID_WEB.fullmatch(text) and len(text) <= 261):
            return Handle("bluesky", text)
        raise _bad("That is not a valid Bluesky DID")
    if len(text) <= 253 and _BSKY_HANDLE.fullmatch(text):
        return Handle("bluesky", text)
    raise _bad("That is not a valid Bluesky handle (like alice.bsky.social)")


def _mastodon(user: str, instance: str) -> Handle:
    user, instance = user.lower(), instance.lower()
    if not _MASTO_USER.fullmatch(user):
        raise _bad("That is not a valid Mastodon user name")
    if len(instance) > 253 or not _HOSTNAME.fullmatch(instance):
        raise _bad("That is not a valid Mastodon instance name")
    return Handle("mastodon", f"{user}@{instance}")


def _x(name: str) -> Handle:
    name = name.lower()
    if not _X_NAME.fullmatch(name) or name in _X_RESERVED:
        raise _bad("That is not a valid X screen name (1 to 15 letters, digits or _)")
    return Handle("x", name)


def _default(name: str, default_platform: str, mastodon_instance: str | None) -> Handle:
    """A bare name with no domain, on the configured default platform."""
    if not _BARE_NAME.fullmatch(name.lower()):
        raise _bad("That is not a valid handle")
    if default_platform == "bluesky":
        return _bluesky(f"{name}.bsky.social")
    if default_platform == "x":
        return _x(name)
    if default_platform == "mastodon":
        if mastodon_instance:
            return _mastodon(name, mastodon_instance)
        raise _bad("A Mastodon handle needs its instance, like @user@example.social")
    raise _bad("No default platform is configured for a bare name")


def _strip_at(text: str) -> str:
    return text[1:] if text.startswith("@") else text


def _from_url(text: str) -> Handle:
    if "%" in text or "\\" in text:
        raise _bad("Encoded or escaped characters are not accepted in a profile link")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise _bad("Only https profile links are accepted")
    netloc = parts.netloc.lower()
    if not netloc or "@" in netloc or ":" in netloc:
        raise _bad("That profile link has a user name, password or port in it")
    if len(netloc) > 253 or not _HOSTNAME.fullmatch(netloc):
        raise _bad("That profile link has no valid host")
    # Query strings and fragments (share links: ?s=20) are ignored; extra path segments are not.
    segments = parts.path.split("/")[1:]
    if segments and segments[-1] == "":
        segments.pop()
    if netloc in _BSKY_HOSTS:
        if len(segments) != 2 or segments[0] != "profile":
            raise _bad("A Bluesky link must be https://bsky.app/profile/HANDLE")
        return _bluesky(_strip_at(segments[1]))
    if netloc in _X_HOSTS:
        if len(segments) != 1:
            raise _bad("An X link must be https://x.com/NAME")
        return _x(_strip_at(segments[0]))
    if len(segments) == 1 and segments[0].startswith("@"):
        user, at, other = segments[0][1:].partition("@")
        # https://example.social/@user@other.social is a remote account seen from example.social.
        return _mastodon(user, other if at else netloc)
    raise _bad("That link is not a Bluesky, Mastodon or X profile")


def parse_configured(text: str, settings: Settings) -> Handle:
    """``parse_handle`` with this deployment's default platform and Mastodon server (of
    ``mastodon.base_url``), the way every command reads a typed handle."""
    instance = urlsplit(settings.mastodon.base_url or "").hostname
    return parse_handle(text, settings.default_platform, mastodon_instance=instance)


def parse_handle(
    text: str, default_platform: str = "bluesky", *, mastodon_instance: str | None = None
) -> Handle:
    """Parse one user-typed handle; raise ``BadHandle`` (its message lists accepted forms).

    ``default_platform`` (``Settings.default_platform``) receives a bare ``@name``;
    ``mastodon_instance`` completes a bare name when that default is Mastodon.
    """
    if not isinstance(text, str):
        raise _bad("A handle must be text")
    if len(text) > MAX_INPUT:
        raise _bad("That is far too long for a handle")
    text = text.strip(" \t\r\n")
    if not text:
        raise _bad("Give a handle to audit")
    if any(not ("!" <= ch <= "~") for ch in text):
        raise _bad("A handle has no spaces, control, invisible or non-ASCII characters")
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        return _from_url(text)
    if lowered.startswith("did:"):
        return _bluesky(text)
    prefix, colon, rest = text.partition(":")
    if colon:
        platform = _PREFIXES.get(prefix.lower())
        if platform is None:
            raise _bad("Unknown prefix or link scheme")
        rest = _strip_at(rest)
        if platform == "bluesky":
            return _bluesky(rest)
        if platform == "x":
            return _x(rest)
        user, at, instance = rest.partition("@")
        if not at:
            if mastodon_instance:
                return _mastodon(user, mastodon_instance)
            raise _bad("A Mastodon handle needs its instance, like @user@example.social")
        return _mastodon(user, instance)
    body = _strip_at(text)
    if "@" in body:
        user, _, instance = body.partition("@")
        return _mastodon(user, instance)
    if "." in body:
        return _bluesky(body)
    return _default(body, default_platform, mastodon_instance)
