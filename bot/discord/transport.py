"""Point discord.py at a REST base and a gateway URL other than Discord's (a proxy, a test server).

discord.py has exactly two knobs for this, both class attributes:

* ``discord.http.Route.BASE``: every REST route is built from it, the bot's own (``HTTPClient``)
  and the interaction/webhook ones (``discord.webhook.async_`` imports the same ``Route``).
  discord.py itself rewrites it in ``http._set_api_version``.
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``: a non-sharded ``Client.connect`` opens it
  without asking ``/gateway/bot``, and falls back to it when a session is invalidated. Resumes go
  to the ``resume_gateway_url`` the server sent in READY, as Discord documents.

Both are process-wide, so ``discord_endpoints`` sets them for the lifetime of one bot (a ``with``
block around it) and restores them after. The websocket is opened with ``encoding=json``; a
server may ignore the ``compress`` query parameter and send plain text frames, which discord.py
reads as JSON. No other patching is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

if TYPE_CHECKING:
    import discord

    from bot.settings import DiscordSettings

__all__ = [
    "DEFAULT_API_BASE",
    "DiscordEndpoints",
    "discord_endpoints",
    "endpoints_from_settings",
    "use_gateway_from_api",
]

DEFAULT_API_BASE = "https://discord.com/api/v10"


@dataclass(frozen=True)
class DiscordEndpoints:
    """Where the bot talks to: the REST base with its version, and the gateway (None: ask REST)."""

    api_base: str = DEFAULT_API_BASE
    gateway_url: str | None = None

    def __post_init__(self) -> None:
        if not self.api_base.startswith(("http://", "https://")):
            raise ValueError(f"api_base must be an http(s) URL, got {self.api_base!r}")
        if self.gateway_url is not None and not self.gateway_url.startswith(("ws://", "wss://")):
            raise ValueError(f"gateway_url must be a ws(s) URL, got {self.gateway_url!r}")


def endpoints_from_settings(settings: DiscordSettings) -> DiscordEndpoints:
    """``FOLLOWAUDIT_DISCORD__API_BASE`` and ``FOLLOWAUDIT_DISCORD__GATEWAY_URL``."""
    return DiscordEndpoints(settings.api_base.rstrip("/"), settings.gateway_url or None)


@contextmanager
def discord_endpoints(endpoints: DiscordEndpoints) -> Iterator[DiscordEndpoints]:
    """Route every discord.py REST call and gateway connection to ``endpoints`` in this block.

    With ``gateway_url`` None the gateway is left alone; call ``use_gateway_from_api`` once
    logged in (e.g. in ``setup_hook``) to take it from ``GET /gateway/bot`` on ``api_base``.
    """
    saved_base, saved_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = endpoints.api_base.rstrip("/")
    if endpoints.gateway_url is not None:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(endpoints.gateway_url)
    try:
        yield endpoints
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved_base, saved_gateway


async def use_gateway_from_api(client: discord.Client) -> str:
    """Ask ``GET /gateway/bot`` (on the current REST base) for the gateway and connect there.

    Needs a logged-in client (its HTTP session exists from ``login`` on); returns the URL.
    """
    _shards, url, _limits = await client.http.get_bot_gateway()
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
    return url
