"""X followers through API v2 with the bearer token from settings.

``/2/users/by/username/:username`` -> the subject; ``/2/users/:id/followers`` with
``max_results=1000`` and the ``user.fields`` the scoring reads, paged by ``pagination_token``
(most recent followers first). X often answers 200 with an ``errors`` list instead of ``data``;
those are read here (not found, suspended, protected). 429s honour ``x-rate-limit-reset``.
The token goes only into the Authorization header, never into messages or logs, and redirects
are not followed so it is never sent elsewhere.
"""

from __future__ import annotations

import re
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import datetime
from typing import Any, Final

from bot.sources._http import HttpSource, Reply, Requester
from bot.sources.base import Checkpoint, Paging, Started
from bot.sources.errors import (
    AuthenticationNeeded,
    NotFound,
    PlatformUnavailable,
    SuspendedOrPrivate,
    UnusableAnswer,
)
from bot.sources.handles import Handle
from scoring.account import AccountError
from scoring.loaders.x_v2 import account_from_x

__all__ = ["PAGE", "USER_FIELDS", "XSource"]

PAGE: Final = 1000
USER_FIELDS: Final = (
    "created_at,description,location,profile_image_url,profile_banner_url,protected,"
    "public_metrics,url,verified,verified_type,most_recent_tweet_id"
)
NO_TOKEN: Final = "Auditing X accounts needs an X API bearer token in FOLLOWAUDIT_X__BEARER_TOKEN."
_ID: Final = re.compile(r"[0-9]{1,25}")
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{1,512}")


class XSource(HttpSource):
    """Reads an X account's followers (needs ``Settings.x.bearer_token``)."""

    platform = "x"
    page = PAGE

    @property
    def _base(self) -> str:
        return self._settings.x.base_url.rstrip("/")

    def _requests(self, handle: Handle) -> AbstractAsyncContextManager[Requester]:
        token = self._settings.x.bearer_token
        secret = token.get_secret_value().strip() if token is not None else ""
        if not secret:
            raise AuthenticationNeeded(NO_TOKEN)
        return nullcontext(
            self._new_requester(
                "X", self._settings.x, headers={"Authorization": f"Bearer {secret}"}
            )
        )

    async def _start(
        self, http: Requester, handle: Handle, target: int, observed: datetime
    ) -> Started:
        user = await self._user(http, handle.handle)
        try:
            subject = account_from_x(user, observed_at=observed)
        except AccountError:
            raise UnusableAnswer("X sent a malformed profile.") from None
        if subject.protected:
            raise SuspendedOrPrivate("That X account is protected, so its followers are private.")
        return Started(Checkpoint.new(handle, target, subject))

    async def _user(self, http: Requester, username: str) -> dict[str, Any]:
        reply = await http.get(
            f"{self._base}/2/users/by/username/{username}", {"user.fields": USER_FIELDS}
        )
        data = reply.data if isinstance(reply.data, dict) else None
        if reply.status == 200 and data is not None:
            user = data.get("data")
            if isinstance(user, dict) and isinstance(user.get("id"), str):
                if not _ID.fullmatch(user["id"]):
                    raise UnusableAnswer("X sent a malformed profile.")
                return user
            if "errors" in data:
                raise _problem(data["errors"])
            raise UnusableAnswer("X sent a malformed answer.")
        raise _error(reply)

    async def _page_through(
        self, http: Requester, handle: Handle, paging: Paging, first_page: Any, observed: datetime
    ) -> None:
        cp = paging.cp
        url = f"{self._base}/2/users/{cp.subject['id']}/followers"

        async def read_page(limit: int) -> tuple[list[Any], str | None]:
            params = {"max_results": str(limit), "user.fields": USER_FIELDS}
            if cp.cursor:
                params["pagination_token"] = cp.cursor
            reply = await http.get(url, params)
            if reply.status != 200 or not isinstance(reply.data, dict):
                raise _error(reply)
            body = reply.data
            users = body.get("data", [])
            if "data" not in body and "errors" in body:
                raise _problem(body["errors"])
            raw_meta = body.get("meta")
            meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
            if not isinstance(users, list):
                raise UnusableAnswer("X sent a malformed answer.")
            token = meta.get("next_token")
            return users, token if isinstance(token, str) and _TOKEN.fullmatch(token) else None

        await self._follow_cursor(
            http, paging, read_page, lambda user: account_from_x(user, observed_at=observed)
        )


def _problem(errors: object) -> Exception:
    """Read X's 200-with-errors answers (``{"errors": [{"title", "detail", "type"}]}``)."""
    first = errors[0] if isinstance(errors, list) and errors else {}
    first = first if isinstance(first, dict) else {}
    kind = str(first.get("type") or "")
    detail = str(first.get("detail") or "").lower()
    title = str(first.get("title") or "").lower()
    if "suspended" in detail or "suspended" in title:
        return SuspendedOrPrivate("That X account is suspended.")
    if kind.endswith("not-authorized-for-resource") or "authorization" in title:
        return SuspendedOrPrivate("That X account is protected, so its followers are private.")
    if kind.endswith("resource-not-found") or "not found" in title:
        return NotFound("No X account has that name.")
    return PlatformUnavailable("X could not answer that request; try again later.")


def _error(reply: Reply) -> Exception:
    if reply.status == 401:
        return AuthenticationNeeded("X refused the configured bearer token.")
    if reply.status == 403:
        return AuthenticationNeeded(
            "X refused access with the configured token; its API plan may not include followers."
        )
    if reply.status == 404:
        return NotFound("No X account has that name.")
    if reply.status == 200:
        return UnusableAnswer("X sent a malformed answer.")
    data = reply.data if isinstance(reply.data, dict) else {}
    if "errors" in data:
        return _problem(data["errors"])
    return PlatformUnavailable(f"X answered HTTP {reply.status}; try again later.")
