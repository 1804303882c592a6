"""A fake X API v2: user lookup by username and follower pages, shaped like the real API.

- ``GET /2/users/by/username/:username?user.fields=`` -> ``{"data": user}``, or HTTP 200 with
  ``{"errors": [{"value", "detail": "Could not find user with username: [x].",
  "title": "Not Found Error", "resource_type": "user", "parameter": "username",
  "type": "https://api.twitter.com/2/problems/resource-not-found"}]}`` (suspended users: the
  detail says "User has been suspended").
- ``GET /2/users/:id/followers?max_results=&pagination_token=&user.fields=`` (1..1000) ->
  ``{"data": [user], "meta": {"result_count", "next_token"?, "previous_token"?}}``, newest first;
  protected accounts answer 200 with a ``not-authorized-for-resource`` error.
- Bearer token required (``401 {"title": "Unauthorized", ...}``); ``x-rate-limit-*`` headers with
  the reset in epoch seconds. Only fields asked for in ``user.fields`` are returned.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from tests.fakes._server import FakeServer, json_response

__all__ = ["FakeX"]

_PROBLEMS = "https://api.twitter.com/2/problems/"
_ALWAYS = ("id", "name", "username")


class FakeX(FakeServer):
    """In-memory users and follower lists; ``token`` is the only bearer token accepted."""

    def __init__(self, token: str = "test-bearer-token", *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.token = token
        self.users: dict[str, dict[str, Any]] = {}  # id -> full user object
        self.by_name: dict[str, str] = {}
        self.followers: dict[str, list[str]] = {}  # id -> follower ids, newest first
        self.suspended: set[str] = set()
        self.rate_limit_remaining = 15
        self.rate_limit_reset_in = 900.0
        self._next_id = 1_000_000
        r = self.app.router
        r.add_get("/2/users/by/username/{username}", self._by_username)
        r.add_get("/2/users/{id}/followers", self._followers)

    def add_user(self, username: str, **fields: Any) -> str:
        self._next_id += 1
        ident = str(self._next_id)
        user: dict[str, Any] = {
            "id": ident,
            "name": username.title(),
            "username": username,
            "created_at": "2015-03-04T05:06:07.000Z",
            "description": "Just here.",
            "location": "Somewhere",
            "url": "",
            "profile_image_url": f"https://pbs.twimg.com/profile_images/{ident}/a_normal.jpg",
            "profile_banner_url": f"https://pbs.twimg.com/profile_banners/{ident}/1",
            "protected": False,
            "verified": False,
            "verified_type": "none",
            "public_metrics": {
                "followers_count": 0,
                "following_count": 20,
                "tweet_count": 50,
                "listed_count": 1,
                "like_count": 10,
            },
        }
        user.update(fields)
        self.users[ident] = user
        self.by_name[username.lower()] = ident
        self.followers.setdefault(ident, [])
        return ident

    def add_followers(self, ident: str, n: int, *, prefix: str = "f", **fields: Any) -> list[str]:
        start = len(self.followers[ident])
        new = [self.add_user(f"{prefix}{start + i}", **fields) for i in range(n)]
        self.followers[ident][:0] = list(reversed(new))
        self.users[ident]["public_metrics"]["followers_count"] = len(self.followers[ident])
        return new

    # --- FakeServer hooks ----------------------------------------------------------------------
    def endpoint_of(self, request: web.Request) -> str:
        return "followers" if request.path.endswith("/followers") else "by_username"

    def rate_limit_headers(self, retry_after: float) -> dict[str, str]:
        return {
            "x-rate-limit-limit": "15",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(int(time.time() + retry_after + 0.999)),
        }

    def wrong_shape(self, endpoint: str) -> Any:
        return {"data": {"not": "a list"}} if endpoint == "followers" else {"data": "nope"}

    def _headers(self) -> dict[str, str]:
        headers = {
            "x-rate-limit-limit": "15",
            "x-rate-limit-remaining": str(self.rate_limit_remaining),
            "x-rate-limit-reset": str(int(time.time() + self.rate_limit_reset_in)),
        }
        self.rate_limit_remaining = max(0, self.rate_limit_remaining - 1)
        return headers

    # --- handlers ------------------------------------------------------------------------------
    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def _unauthorized(self) -> web.Response:
        return json_response(
            {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            },
            401,
        )

    def _shape(self, user: dict[str, Any], fields: str) -> dict[str, Any]:
        wanted = set(_ALWAYS) | {f for f in fields.split(",") if f}
        return {k: v for k, v in user.items() if k in wanted}

    async def _by_username(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized()
        name = request.match_info["username"]
        ident = self.by_name.get(name.lower())
        if ident is None or ident in self.suspended:
            detail = (
                f"User has been suspended: [{name}]."
                if ident
                else f"Could not find user with username: [{name}]."
            )
            return json_response(
                {
                    "errors": [
                        {
                            "value": name,
                            "detail": detail,
                            "title": "Forbidden" if ident else "Not Found Error",
                            "resource_type": "user",
                            "parameter": "username",
                            "resource_id": name,
                            "type": _PROBLEMS + "resource-not-found",
                        }
                    ]
                },
                headers=self._headers(),
            )
        user = self._shape(self.users[ident], request.query.get("user.fields", ""))
        return json_response({"data": user}, headers=self._headers())

    async def _followers(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized()
        ident = request.match_info["id"]
        if ident not in self.users:
            return json_response(
                {
                    "errors": [
                        {
                            "value": ident,
                            "detail": f"Could not find user with id: [{ident}].",
                            "title": "Not Found Error",
                            "resource_type": "user",
                            "parameter": "id",
                            "resource_id": ident,
                            "type": _PROBLEMS + "resource-not-found",
                        }
                    ]
                }
            )
        if self.users[ident].get("protected"):
            return json_response(
                {
                    "errors": [
                        {
                            "detail": "Sorry, you are not authorized to see the user with id:"
                            f" [{ident}].",
                            "title": "Authorization Error",
                            "resource_type": "user",
                            "parameter": "id",
                            "resource_id": ident,
                            "value": ident,
                            "type": _PROBLEMS + "not-authorized-for-resource",
                        }
                    ]
                }
            )
        try:
            limit = int(request.query.get("max_results", "100"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 1000:
            return json_response(
                {
                    "errors": [
                        {
                            "parameters": {"max_results": [str(limit)]},
                            "message": "The `max_results` query parameter value is not "
                            "between 1 and 1000",
                        }
                    ],
                    "title": "Invalid Request",
                    "detail": "One or more parameters to your request was invalid.",
                    "type": _PROBLEMS + "invalid-request",
                },
                400,
            )
        token = request.query.get("pagination_token")
        start = int(token[1:], 36) if token else 0
        ids = self.followers[ident]
        page = ids[start : start + limit]
        fields = request.query.get("user.fields", "")
        meta: dict[str, Any] = {"result_count": len(page)}
        if start + limit < len(ids):
            meta["next_token"] = "N" + _b36(start + limit)
        if start:
            meta["previous_token"] = "P" + _b36(max(0, start - limit))
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [self._shape(self.users[f], fields) for f in page]
        return json_response(body, headers=self._headers())


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out
