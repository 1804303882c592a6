"""A fake Mastodon instance: account lookup and follower pages, shaped like the REST API.

- ``GET /api/v1/accounts/lookup?acct=`` -> Account entity, or ``404 {"error": "Record not found"}``
- ``GET /api/v1/accounts/:id/followers?limit=&max_id=`` (limit at most 80) -> ``[Account]``,
  newest follow first, with ``Link: <...max_id=N>; rel="next", <...since_id=M>; rel="prev"``.
  ``max_id`` is the id of the follow relationship, as in Mastodon. A hidden network answers
  ``[]`` without a Link header, exactly like Mastodon does for anonymous callers.
- ``X-RateLimit-Limit/Remaining/Reset`` headers (reset as an ISO 8601 timestamp).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakes._server import FakeServer, json_response

__all__ = ["FakeMastodon"]


class FakeMastodon(FakeServer):
    """One instance (``domain``) with in-memory accounts and follows."""

    def __init__(self, domain: str = "example.social", *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.domain = domain
        self.accounts: dict[str, dict[str, Any]] = {}  # id -> Account entity
        self.by_acct: dict[str, str] = {}  # "user@domain" -> id
        #: account id -> [(follow id, follower account id)], newest first
        self.follows: dict[str, list[tuple[int, str]]] = {}
        self.hidden: set[str] = set()
        self.rate_limit_remaining = 300
        self.rate_limit_reset_in = 300.0
        self._next_id = 100_000
        self._next_follow = 1_000
        r = self.app.router
        r.add_get("/api/v1/accounts/lookup", self._lookup)
        r.add_get("/api/v1/accounts/{id}/followers", self._followers)

    def add_account(self, username: str, domain: str | None = None, **fields: Any) -> str:
        self._next_id += 1
        ident = str(self._next_id)
        local = domain in (None, self.domain)
        acct = username if local else f"{username}@{domain}"
        host = self.domain if local else domain
        entity: dict[str, Any] = {
            "id": ident,
            "username": username,
            "acct": acct,
            "display_name": username.title(),
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": "2022-11-05T00:00:00.000Z",
            "note": '<p>Hello from the <a href="https://example.org">fediverse</a></p>',
            "url": f"https://{host}/@{username}",
            "uri": f"https://{host}/users/{username}",
            "avatar": f"https://files.{host}/accounts/avatars/{ident}.png",
            "avatar_static": f"https://files.{host}/accounts/avatars/{ident}.png",
            "header": f"https://files.{host}/accounts/headers/{ident}.png",
            "header_static": f"https://files.{host}/accounts/headers/{ident}.png",
            "followers_count": 0,
            "following_count": 12,
            "statuses_count": 40,
            "last_status_at": "2024-05-01",
            "hide_collections": False,
            "noindex": False,
            "emojis": [],
            "roles": [],
            "fields": [],
        }
        entity.update(fields)
        self.accounts[ident] = entity
        self.by_acct[f"{username}@{host}".lower()] = ident
        self.follows.setdefault(ident, [])
        return ident

    def add_followers(self, ident: str, n: int, *, prefix: str = "f", **fields: Any) -> list[str]:
        """Add ``n`` new followers (the last one newest)."""
        start = len(self.follows[ident])
        new = []
        for i in range(n):
            follower = self.add_account(f"{prefix}{start + i}", followers_count=i % 40, **fields)
            self._next_follow += 1
            self.follows[ident].insert(0, (self._next_follow, follower))
            new.append(follower)
        self.accounts[ident]["followers_count"] = len(self.follows[ident])
        return new

    # --- FakeServer hooks ----------------------------------------------------------------------
    def endpoint_of(self, request: web.Request) -> str:
        return "followers" if request.path.endswith("/followers") else "lookup"

    def _reset(self, seconds: float) -> str:
        when = datetime.now(UTC) + timedelta(seconds=seconds)
        return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def rate_limit_headers(self, retry_after: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": self._reset(retry_after),
        }

    def wrong_shape(self, endpoint: str) -> Any:
        return {"accounts": []} if endpoint == "followers" else ["not", "an", "account"]

    def _headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(self.rate_limit_remaining),
            "X-RateLimit-Reset": self._reset(self.rate_limit_reset_in),
        }
        self.rate_limit_remaining = max(0, self.rate_limit_remaining - 1)
        return headers

    # --- handlers ------------------------------------------------------------------------------
    async def _lookup(self, request: web.Request) -> web.Response:
        acct = request.query.get("acct", "").lower().lstrip("@")
        if "@" not in acct:
            acct = f"{acct}@{self.domain}"
        ident = self.by_acct.get(acct)
        if ident is None:
            return json_response({"error": "Record not found"}, 404)
        return json_response(self.accounts[ident], headers=self._headers())

    async def _followers(self, request: web.Request) -> web.Response:
        ident = request.match_info["id"]
        if ident not in self.accounts:
            return json_response({"error": "Record not found"}, 404)
        headers = self._headers()
        if ident in self.hidden:
            return json_response([], headers=headers)
        try:
            limit = min(80, max(1, int(request.query.get("limit", "40"))))
            max_id = int(request.query["max_id"]) if "max_id" in request.query else None
        except ValueError:
            return json_response({"error": "invalid parameter"}, 400)
        rows = [(f, a) for f, a in self.follows[ident] if max_id is None or f < max_id]
        page = rows[:limit]
        if page:
            url = f"{self.base_url}/api/v1/accounts/{ident}/followers"
            links = []
            if len(page) == limit:  # Mastodon offers a next page whenever this one is full
                links.append(f'<{url}?limit={limit}&max_id={page[-1][0]}>; rel="next"')
            links.append(f'<{url}?limit={limit}&since_id={page[0][0]}>; rel="prev"')
            headers["Link"] = ", ".join(links)
        return json_response([self.accounts[a] for _, a in page], headers=headers)
