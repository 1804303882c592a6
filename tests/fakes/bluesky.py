"""A fake Bluesky AppView: the XRPC queries the follower source uses, shaped like the lexicons.

- ``com.atproto.identity.resolveHandle?handle=`` -> ``{"did"}``
- ``app.bsky.actor.getProfile?actor=`` -> ``app.bsky.actor.defs#profileViewDetailed``
- ``app.bsky.actor.getProfiles?actors=..`` (at most 25) -> ``{"profiles": [profileViewDetailed]}``
- ``app.bsky.graph.getFollowers?actor=&limit=&cursor=`` (limit 1..100) ->
  ``{"subject": profileView, "cursor"?, "followers": [profileView]}``, newest first.

Errors are XRPC shaped: ``400 {"error": "InvalidRequest", "message": "Profile not found"}``,
``{"error": "AccountTakedown", ...}``. Rate-limit headers: ``ratelimit-*`` (epoch reset).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

from aiohttp import web

from tests.fakes._server import FakeServer, json_response

__all__ = ["FakeBluesky"]

_B32 = "abcdefghijklmnopqrstuvwxyz234567"


def make_did(handle: str) -> str:
    digest = hashlib.sha256(handle.encode()).digest()
    return "did:plc:" + "".join(_B32[b % 32] for b in digest[:24])


def _error(message: str, name: str = "InvalidRequest", status: int = 400) -> web.Response:
    return json_response({"error": name, "message": message}, status)


class FakeBluesky(FakeServer):
    """In-memory accounts and follow lists; change them between calls."""

    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.profiles: dict[str, dict[str, Any]] = {}  # did -> profileViewDetailed
        self.handles: dict[str, str] = {}  # handle -> did
        self.followers: dict[str, list[str]] = {}  # did -> follower dids, newest first
        self.taken_down: set[str] = set()
        #: DIDs that getProfiles leaves out (as the AppView does for hidden accounts).
        self.omit_from_profiles: set[str] = set()
        #: Hold getProfiles answers until this many getFollowers pages were asked for.
        self.hold_profiles_until_pages: int | None = None
        self._page_asked = asyncio.Condition()
        self.rate_limit_remaining: int | None = None
        self.rate_limit_reset_in = 0.0
        r = self.app.router
        r.add_get("/xrpc/com.atproto.identity.resolveHandle", self._resolve)
        r.add_get("/xrpc/app.bsky.actor.getProfile", self._get_profile)
        r.add_get("/xrpc/app.bsky.actor.getProfiles", self._get_profiles)
        r.add_get("/xrpc/app.bsky.graph.getFollowers", self._get_followers)

    # --- data ------------------------------------------------------------------------------
    def add_account(self, handle: str, **fields: Any) -> str:
        handle = handle.lower()  # handles are case-insensitive; the AppView serves lower case
        did = fields.pop("did", None) or make_did(handle)
        profile: dict[str, Any] = {
            "did": did,
            "handle": handle,
            "displayName": handle.split(".")[0].title(),
            "description": "Posting about things.",
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkrei@jpeg",
            "banner": f"https://cdn.bsky.app/img/banner/plain/{did}/bafkrei@jpeg",
            "followersCount": 0,
            "followsCount": 10,
            "postsCount": 5,
            "associated": {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False},
            "indexedAt": "2024-01-01T00:00:00.000Z",
            "createdAt": "2023-06-01T12:00:00.000Z",
            "viewer": {"muted": False, "blockedBy": False},
            "labels": [],
        }
        profile.update(fields)
        self.profiles[did] = profile
        self.handles[handle] = did
        self.followers.setdefault(did, [])
        return did

    def add_followers(self, did: str, n: int, *, prefix: str = "f", **fields: Any) -> list[str]:
        """Add ``n`` new followers, newest first, in front of the existing ones."""
        start = len(self.followers[did])
        new = [
            self.add_account(f"{prefix}{start + i}.test", followersCount=i % 50, **fields)
            for i in range(n)
        ]
        self.followers[did][:0] = list(reversed(new))
        self.profiles[did]["followersCount"] = len(self.followers[did])
        return new

    def view(self, did: str) -> dict[str, Any]:
        """``app.bsky.actor.defs#profileView``: the detailed view without counts or banner."""
        detailed = self.profiles[did]
        return {
            k: v
            for k, v in detailed.items()
            if k not in ("followersCount", "followsCount", "postsCount", "banner")
        }

    # --- FakeServer hooks ----------------------------------------------------------------------
    def endpoint_of(self, request: web.Request) -> str:
        return request.path.rsplit(".", 1)[-1]

    def rate_limit_headers(self, retry_after: float) -> dict[str, str]:
        return {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(int(time.time() + retry_after + 0.999)),
            "ratelimit-policy": "3000;w=300",
            "retry-after": f"{retry_after:.3f}",
        }

    def wrong_shape(self, endpoint: str) -> Any:
        return {"followers": "not a list", "profiles": {"not": "a list"}, "did": 42}

    def _headers(self) -> dict[str, str]:
        if self.rate_limit_remaining is None:
            return {}
        headers = {
            "ratelimit-limit": "3000",
            "ratelimit-remaining": str(self.rate_limit_remaining),
            "ratelimit-reset": f"{time.time() + self.rate_limit_reset_in:.3f}",
        }
        self.rate_limit_remaining = max(0, self.rate_limit_remaining - 1)
        return headers

    # --- handlers ------------------------------------------------------------------------------
    def _lookup(self, actor: str) -> str | web.Response:
        did = actor if actor.startswith("did:") else self.handles.get(actor.lower())
        if did is None or did not in self.profiles:
            return _error("Profile not found")
        if did in self.taken_down:
            return _error("Account has been suspended", "AccountTakedown")
        return did

    async def _resolve(self, request: web.Request) -> web.Response:
        handle = request.query.get("handle", "")
        if not handle:
            return _error('Error: Params must have the property "handle"')
        did = self.handles.get(handle.lower())
        if did is None:
            return _error("Unable to resolve handle")
        return json_response({"did": did}, headers=self._headers())

    async def _get_profile(self, request: web.Request) -> web.Response:
        found = self._lookup(request.query.get("actor", ""))
        if isinstance(found, web.Response):
            return found
        return json_response(self.profiles[found], headers=self._headers())

    async def _get_profiles(self, request: web.Request) -> web.Response:
        if self.hold_profiles_until_pages is not None:
            n = self.hold_profiles_until_pages
            async with self._page_asked:
                await asyncio.wait_for(
                    self._page_asked.wait_for(lambda: self.requests["getFollowers"] >= n), 10
                )
        actors = request.query.getall("actors", [])
        if not actors or len(actors) > 25:
            return _error("Error: actors must not have more than 25 elements")
        out = []
        for actor in actors:
            did = actor if actor.startswith("did:") else self.handles.get(actor)
            if did in self.profiles and did not in self.taken_down | self.omit_from_profiles:
                out.append(self.profiles[did])
        return json_response({"profiles": out}, headers=self._headers())

    async def _get_followers(self, request: web.Request) -> web.Response:
        async with self._page_asked:
            self._page_asked.notify_all()
        found = self._lookup(request.query.get("actor", ""))
        if isinstance(found, web.Response):
            return found
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            return _error("Error: limit must be an integer")
        if not 1 <= limit <= 100:
            return _error("Error: limit can not be greater than 100")
        cursor = request.query.get("cursor")
        start = 0
        if cursor:
            if not cursor.startswith("c:"):
                return _error("Malformed cursor")
            start = int(cursor[2:])
        dids = self.followers[found]
        page = dids[start : start + limit]
        body: dict[str, Any] = {
            "subject": self.view(found),
            "followers": [self.view(d) for d in page],
        }
        if start + limit < len(dids):
            body["cursor"] = f"c:{start + limit}"
        return json_response(body, headers=self._headers())
