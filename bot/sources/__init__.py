"""Follower sources: a handle in, the subject and a sample of its followers out (issue 4).

Build one ``aiohttp.ClientSession`` where the process starts (``bot.app`` does) and pass it in::

    async with aiohttp.ClientSession(headers=HTTP_HEADERS) as session:
        source = source_for(handle.platform, session, settings)
        result = await source.fetch(handle, sample=1000, progress=report)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp

    from bot.settings import Settings
    from bot.sources.base import FollowerSource, RequestGate

__all__ = [
    "HTTP_HEADERS",
    "AuthenticationNeeded",
    "BadHandle",
    "BadUpload",
    "BlueskySource",
    "Checkpoint",
    "FetchResult",
    "FollowerSource",
    "FollowersHidden",
    "MastodonSource",
    "NotFound",
    "PlatformUnavailable",
    "RateLimited",
    "RequestGate",
    "SourceError",
    "SuspendedOrPrivate",
    "UnusableAnswer",
    "XSource",
    "read_upload",
    "sample_size",
    "source_for",
]

#: Headers of every HTTP session of ours (the platforms see who asks).
HTTP_HEADERS = {"User-Agent": "followaudit/0.1"}

# Names load on first use (PEP 562), so ``bot.sources.handles`` can import ``bot.sources.errors``
# without pulling in aiohttp and the platform modules.
_WHERE = {
    "AuthenticationNeeded": "errors",
    "BadHandle": "errors",
    "BadUpload": "errors",
    "FollowersHidden": "errors",
    "NotFound": "errors",
    "PlatformUnavailable": "errors",
    "RateLimited": "errors",
    "SourceError": "errors",
    "SuspendedOrPrivate": "errors",
    "UnusableAnswer": "errors",
    "Checkpoint": "base",
    "FetchResult": "base",
    "FollowerSource": "base",
    "sample_size": "base",
    "RequestGate": "base",
    "BlueskySource": "bluesky",
    "MastodonSource": "mastodon",
    "XSource": "x",
    "read_upload": "uploads",
}
_CLASSES = {"bluesky": "BlueskySource", "mastodon": "MastodonSource", "x": "XSource"}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'bot.sources' has no attribute {name!r}")
    return getattr(import_module(f"bot.sources.{module}"), name)


def source_for(
    platform: str,
    session: aiohttp.ClientSession,
    settings: Settings,
    *,
    gate: RequestGate | None = None,
) -> FollowerSource:
    """The source for a ``Handle.platform``; ``ValueError`` for an unknown platform.

    ``gate(platform)`` (optional) is held around every request: shared budgets plug in there.
    """
    name = _CLASSES.get(platform)
    if name is None:
        raise ValueError(f"no follower source for platform {platform!r}")
    cls: Any = __getattr__(name)
    source: FollowerSource = cls(session, settings, gate=gate)
    return source
