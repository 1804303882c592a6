"""Where a host named by a user may be reached: public addresses only, and only those checked.

A Mastodon instance comes from an untrusted handle and the bot runs beside private services. The
name is resolved once, every address is checked, and the connection is made to exactly those
addresses (``PinnedResolver``), so a name that answers differently a moment later (DNS
rebinding) cannot aim a request at a private service.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp.abc import AbstractResolver, ResolveResult

__all__ = ["AddressRefused", "Lookup", "PinnedResolver", "is_public_address", "system_lookup"]

#: ``lookup(host, port)`` -> the ``(address, port)`` pairs the name resolves to.
Lookup = Callable[[str, int], Awaitable[list[tuple[str, int]]]]

#: IPv6 prefixes refused whatever they embed: NAT64 (well-known and local-use, RFC 6052 and
#: 8215) and 6to4 (RFC 3056, deprecated by RFC 7526). A translator or relay we do not control
#: decides where they lead, so no embedded address can vouch for them.
_TRANSLATED: Final = tuple(
    ipaddress.IPv6Network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16")
)
#: IPv4-compatible addresses (``::a.b.c.d``, deprecated): judged by the IPv4 address they embed.
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")
_NUMERIC: Final = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


def is_public_address(address: str) -> bool:
    """Whether an IP address is on the public internet (not loopback, private, link-local...);
    IPv4-mapped and IPv4-compatible IPv6 addresses by the IPv4 address they embed."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _TRANSLATED):
            return False
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _IPV4_COMPATIBLE:
            ip = ipaddress.IPv4Address(int(ip))
    return ip.is_global and not ip.is_multicast


async def system_lookup(host: str, port: int) -> list[tuple[str, int]]:
    """The system resolver's ``(address, port)`` pairs for ``host``."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [(str(info[4][0]), int(info[4][1])) for info in infos]


class AddressRefused(OSError):
    """The name resolves to no address, or to one that is not allowed."""


class PinnedResolver(AbstractResolver):
    """An aiohttp resolver that looks each host up once, refuses it unless every address is
    ``allowed``, and from then on answers only those checked addresses."""

    def __init__(
        self, lookup: Lookup = system_lookup, allowed: Callable[[str], bool] = is_public_address
    ) -> None:
        self._lookup = lookup
        self._allowed = allowed
        self._pinned: dict[tuple[str, int], list[ResolveResult]] = {}
        self._lock = asyncio.Lock()

    async def pin(self, host: str, port: int) -> list[ResolveResult]:
        """The checked addresses of ``host``; ``AddressRefused`` or ``OSError`` otherwise."""
        async with self._lock:
            if (host, port) not in self._pinned:
                self._pinned[host, port] = await self._check(host, port)
            return self._pinned[host, port]

    async def _check(self, host: str, port: int) -> list[ResolveResult]:
        try:
            pairs = await self._lookup(host, port)
        except UnicodeError as exc:
            raise OSError(f"cannot resolve {host!r}") from exc
        if not pairs or not all(self._allowed(address) for address, _ in pairs):
            raise AddressRefused(f"{host} does not resolve to allowed addresses only")
        return [_result(host, address, found) for address, found in pairs]

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = [
            r for r in await self.pin(host, port) if family in (socket.AF_UNSPEC, r["family"])
        ]
        if not results:
            raise AddressRefused(f"{host} has no address of the family asked for")
        return results

    async def close(self) -> None:
        """Nothing to release."""


def _result(host: str, address: str, port: int) -> ResolveResult:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return ResolveResult(
        hostname=host, host=address, port=port, family=family, proto=0, flags=_NUMERIC
    )
