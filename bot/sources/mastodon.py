"""Mastodon followers from the account's home instance (or ``FOLLOWAUDIT_MASTODON__BASE_URL``).

``/api/v1/accounts/lookup?acct=`` -> the Account entity; then ``/api/v1/accounts/:id/followers``
(80 a page, newest first), following the ``Link: <...>; rel="next"`` header. Only the ``max_id``
of that link is used, so a hostile server cannot point the next request at another host.
An account that hides its network gets an empty list from Mastodon: that is FollowersHidden,
never an empty audit. ``X-RateLimit-*`` headers are respected by the requester.
An instance named by a handle is reached only at public addresses, the ones checked
(``_addresses.PinnedResolver``); requests are budgeted per instance (``gate(platform, host)``).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import aiohttp

from bot.settings import Settings
from bot.sources._addresses import AddressRefused, PinnedResolver, is_public_address
from bot.sources._http import HttpSource, Reply, Requester
from bot.sources.base import Checkpoint, Paging, RequestGate, Started
from bot.sources.errors import (
    AuthenticationNeeded,
    FollowersHidden,
    NotFound,
    PlatformUnavailable,
    SuspendedOrPrivate,
    UnusableAnswer,
)
from bot.sources.handles import Handle
from scoring.account import AccountError
from scoring.loaders.mastodon import account_from_mastodon

__all__ = ["PAGE", "MastodonSource", "is_public_address", "next_max_id"]

PAGE: Final = 80
_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NEXT: Final = re.compile(r'<([^<>]{1,2048})>\s*;\s*rel="?next"?', re.IGNORECASE)
#: Names that are never public Mastodon servers; refused unless a base URL is configured.
_PRIVATE_TLDS: Final = frozenset(
    {
        "local",
        "localhost",
        "internal",
        "intranet",
        "lan",
        "home",
        "corp",
        "private",
        "arpa",
        "invalid",
        "test",
        "example",
        "onion",
        "alt",
        "localdomain",
    }
)


def next_max_id(link: str | None) -> str | None:
    """The ``max_id`` of the ``rel="next"`` URL in a ``Link`` header, if well-formed."""
    if not link:
        return None
    match = _NEXT.search(link[:8192])
    if not match:
        return None
    values = parse_qs(urlsplit(match.group(1)).query).get("max_id")
    if not values or not _ID.fullmatch(values[0]):
        return None
    return values[0]


class MastodonSource(HttpSource):
    """Reads a Mastodon account's followers."""

    platform = "mastodon"
    page = PAGE

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        gate: RequestGate | None = None,
        resolver: Callable[[], PinnedResolver] = PinnedResolver,
    ) -> None:
        super().__init__(session, settings, gate=gate)
        #: A fresh resolver per fetch: an instance's addresses are checked and pinned for it.
        self._resolver = resolver

    @contextlib.asynccontextmanager
    async def _connect(self, instance: str) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
        """The session and base URL for ``instance``: the configured base URL on the caller's
        session, else the instance over https on a session that connects only to the addresses
        checked here (the handle is untrusted and the bot runs next to private services)."""
        configured = self._settings.mastodon.base_url
        if configured:
            yield self._session, configured.rstrip("/")
            return
        if instance.rpartition(".")[2] in _PRIVATE_TLDS:
            raise NotFound(f"{instance} is not a public Mastodon server.")
        resolver = self._resolver()
        try:
            await resolver.pin(instance, 443)
        except AddressRefused:
            raise NotFound(f"{instance} is not a public Mastodon server.") from None
        except OSError:
            raise NotFound(f"No Mastodon server answers at {instance}.") from None
        connector = aiohttp.TCPConnector(resolver=resolver)
        async with aiohttp.ClientSession(
            connector=connector, headers=self._session.headers
        ) as session:
            yield session, f"https://{instance}"

    @contextlib.asynccontextmanager
    async def _requests(self, handle: Handle) -> AsyncIterator[Requester]:
        instance = handle.instance or ""
        async with self._connect(instance) as (session, base):
            yield self._new_requester(
                f"Mastodon ({instance})", self._settings.mastodon, session=session,
                host=_host_of(base), base=base,
            )  # fmt: skip

    async def _start(
        self, http: Requester, handle: Handle, target: int, observed: datetime
    ) -> Started:
        entity = await self._lookup(http, http.base, handle)
        try:
            subject = account_from_mastodon(
                entity, observed_at=observed, instance=handle.instance or ""
            )
        except AccountError:
            raise UnusableAnswer(f"{http.label} sent a malformed profile.") from None
        hidden = entity.get("hide_collections") is True
        return Started(Checkpoint.new(handle, target, subject, id=entity["id"], hidden=hidden))

    async def _lookup(self, http: Requester, base: str, handle: Handle) -> dict[str, Any]:
        reply = await http.get(f"{base}/api/v1/accounts/lookup", {"acct": handle.handle})
        if reply.status == 200 and isinstance(reply.data, dict):
            entity = reply.data
            if entity.get("suspended") is True:
                raise SuspendedOrPrivate("That Mastodon account is suspended.")
            if not isinstance(entity.get("id"), str) or not _ID.fullmatch(entity["id"]):
                raise UnusableAnswer(f"{http.label} sent a malformed profile.")
            return entity
        raise _error(reply, http.label)

    async def _page_through(
        self, http: Requester, handle: Handle, paging: Paging, first_page: Any, observed: datetime
    ) -> None:
        cp = paging.cp
        url = f"{http.base}/api/v1/accounts/{cp.state['id']}/followers"
        instance = handle.instance
        first = not paging.followers and cp.cursor is None

        async def read_page(limit: int) -> tuple[list[Any], str | None]:
            nonlocal first
            params = {"limit": str(limit)}
            if cp.cursor:
                params["max_id"] = cp.cursor
            reply = await http.get(url, params)
            if reply.status != 200:
                raise _error(reply, http.label)
            if not isinstance(reply.data, list):
                raise UnusableAnswer(f"{http.label} sent a malformed answer.")
            next_id = next_max_id(reply.headers.get("Link"))
            if (
                first
                and not reply.data
                and next_id is None
                and (cp.state.get("hidden") or (cp.followers_total or 0) > 0)
            ):
                raise FollowersHidden(
                    f"@{handle.handle} hides its followers, so there is nothing to audit."
                )
            first = False
            return reply.data, next_id

        await self._follow_cursor(
            http,
            paging,
            read_page,
            lambda entity: account_from_mastodon(entity, observed_at=observed, instance=instance),
        )


def _host_of(base: str) -> str:
    """The server a base URL names, ``host`` or ``host:port``: Mastodon budgets are kept per
    server, so one slow or failing instance holds back only its own audits."""
    parts = urlsplit(base)
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port else host


def _error(reply: Reply, label: str) -> Exception:
    data = reply.data if isinstance(reply.data, dict) else {}
    message = str(data.get("error") or "").lower()
    if reply.status == 404:
        return NotFound("No Mastodon account has that handle.")
    if reply.status == 410 or "suspended" in message:
        return SuspendedOrPrivate("That Mastodon account is suspended.")
    if reply.status in (401, 403):
        return AuthenticationNeeded(f"{label} shows accounts only to signed-in users.")
    return PlatformUnavailable(f"{label} answered HTTP {reply.status}; try again later.")
