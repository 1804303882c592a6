"""Bluesky followers through the public AppView (no login).

``com.atproto.identity.resolveHandle`` (the DID), ``app.bsky.actor.getProfile`` (the subject) and
the first ``app.bsky.graph.getFollowers`` page go out together (both queries take a handle); later
pages (100 a page, cursor, newest first) ask by DID, which never changes.
Follower views carry no counts, so each page is enriched with ``app.bsky.actor.getProfiles``
(25 actors a call) in background tasks while the next page is fetched: the cursor chain alone
sets the pace, and only the last page's batches add to it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import datetime
from typing import Any, Final

from bot.sources._http import HttpSource, Reply, Requester
from bot.sources.base import Checkpoint, Paging, Started, max_pages
from bot.sources.errors import (
    NotFound,
    PlatformUnavailable,
    RateLimited,
    SuspendedOrPrivate,
    UnusableAnswer,
)
from bot.sources.handles import Handle
from scoring.account import Account, AccountError
from scoring.loaders.bluesky import account_from_bluesky

__all__ = ["PAGE", "PROFILE_BATCH", "BlueskySource"]

PAGE: Final = 100
PROFILE_BATCH: Final = 25
_MAX_EMPTY_PAGES: Final = 3
_GONE_ERRORS: Final = frozenset(
    {"AccountTakedown", "AccountDeactivated", "RepoTakendown", "RepoDeactivated", "RepoSuspended"}
)


class BlueskySource(HttpSource):
    """Reads a Bluesky account's followers from an AppView (``Settings.bluesky.base_url``)."""

    platform = "bluesky"
    page = PAGE

    @property
    def _base(self) -> str:
        return self._settings.bluesky.base_url.rstrip("/") + "/xrpc/"

    def _requests(self, handle: Handle) -> AbstractAsyncContextManager[Requester]:
        return nullcontext(self._new_requester("Bluesky", self._settings.bluesky))

    async def _call(self, http: Requester, method: str, params: Any) -> Any:
        reply = await http.get(self._base + method, params)
        if reply.status == 200:
            if not isinstance(reply.data, dict):
                raise UnusableAnswer("Bluesky sent a malformed answer.")
            return reply.data
        raise _error(reply)

    async def _start(
        self, http: Requester, handle: Handle, target: int, observed: datetime
    ) -> Started:
        """The profile and the first page of followers (see ``_read_start``); the subject is
        kept as read."""
        profile, first_page = await self._read_start(http, handle, min(PAGE, target))
        subject = _subject(profile, observed)
        cp = Checkpoint.new(handle, target, subject, did=subject.id)
        return Started(cp, subject, first_page)

    async def _read_start(
        self, http: Requester, handle: Handle, limit: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Resolve the handle, read the profile and the first page, all at once.

        getProfile and getFollowers take a handle as well as a DID, so none of the three waits
        for another; the resolved DID must match the profile's (a handle can change hands).
        """
        actor = handle.handle
        try:
            async with asyncio.TaskGroup() as tg:
                profile = tg.create_task(
                    self._call(http, "app.bsky.actor.getProfile", {"actor": actor})
                )
                page = tg.create_task(
                    self._call(
                        http, "app.bsky.graph.getFollowers", {"actor": actor, "limit": str(limit)}
                    )
                )
                did = None if handle.is_did else tg.create_task(self._resolve(http, actor))
        except* Exception as group:
            raise _most_telling(group.exceptions) from None
        expected = actor if did is None else did.result()
        if profile.result().get("did") != expected or not _same_subject(page.result(), expected):
            raise PlatformUnavailable(
                "Bluesky gave conflicting answers for that handle; try again."
            )
        return profile.result(), page.result()

    async def _resolve(self, http: Requester, handle: str) -> str:
        data = await self._call(http, "com.atproto.identity.resolveHandle", {"handle": handle})
        did = data.get("did")
        if not isinstance(did, str) or not did.startswith("did:") or len(did) > 2048:
            raise UnusableAnswer("Bluesky sent a malformed answer.")
        return did

    async def _page_through(
        self,
        http: Requester,
        handle: Handle,
        paging: Paging,
        first_page: dict[str, Any] | None,
        observed: datetime,
    ) -> None:
        """The cursor chain in the foreground; enrichment and checkpoints in ordered tasks."""
        cp = paging.cp
        did = str(cp.state.get("did") or cp.subject["id"])
        limiter = asyncio.Semaphore(self._settings.bluesky.profile_concurrency)
        cursor = cp.cursor
        wanted = paging.wanted
        empty_pages = 0
        pages_left = max_pages(cp.target, PAGE)
        try:
            async with asyncio.TaskGroup() as tg:
                finisher: asyncio.Task[None] | None = None
                while wanted > 0:
                    if first_page is not None:
                        page, first_page = first_page, None
                    else:
                        params = {"actor": did, "limit": str(min(PAGE, wanted))}
                        if cursor:
                            params["cursor"] = cursor
                        page = await self._call(http, "app.bsky.graph.getFollowers", params)
                    views = _views(page.get("followers"), paging.seen)[:wanted]
                    wanted -= len(views)
                    next_cursor = page.get("cursor")
                    if not isinstance(next_cursor, str) or not next_cursor or next_cursor == cursor:
                        next_cursor = None
                    empty_pages = 0 if views else empty_pages + 1
                    pages_left -= 1
                    if empty_pages >= _MAX_EMPTY_PAGES or pages_left <= 0:
                        next_cursor = None
                    last = next_cursor is None or wanted <= 0
                    enrich = tg.create_task(self._enrich(http, views, limiter, observed))
                    finisher = tg.create_task(
                        self._finish(finisher, enrich, paging, next_cursor, last, http)
                    )
                    cursor = next_cursor
                    if last:
                        break
        except* Exception as group:
            raise group.exceptions[0] from None

    async def _finish(
        self,
        previous: asyncio.Task[None] | None,
        enrich: asyncio.Task[tuple[list[Account], int]],
        paging: Paging,
        cursor: str | None,
        last: bool,
        http: Requester,
    ) -> None:
        """Append one page's accounts in page order, then report progress and the checkpoint."""
        if previous is not None:
            await previous
        accounts, skipped = await enrich
        paging.extend(accounts, skipped)
        paging.cp.cursor = cursor
        paging.cp.done = last
        await paging.page_done(http.requests)

    async def _enrich(
        self,
        http: Requester,
        views: list[dict[str, Any]],
        limiter: asyncio.Semaphore,
        observed: datetime,
    ) -> tuple[list[Account], int]:
        """Fill in counts with getProfiles, 25 actors a call, the batches in parallel."""
        batches = [views[i : i + PROFILE_BATCH] for i in range(0, len(views), PROFILE_BATCH)]

        async def one(batch: Sequence[dict[str, Any]]) -> list[Any]:
            async with limiter:
                data = await self._call(
                    http, "app.bsky.actor.getProfiles", [("actors", v["did"]) for v in batch]
                )
            profiles = data.get("profiles")
            if not isinstance(profiles, list):
                raise UnusableAnswer("Bluesky sent a malformed answer.")
            return profiles

        detailed: dict[str, dict[str, Any]] = {}
        for profiles in await asyncio.gather(*(one(b) for b in batches)):
            for p in profiles:
                if isinstance(p, dict) and isinstance(p.get("did"), str):
                    detailed[p["did"]] = p
        accounts: list[Account] = []
        skipped = 0
        for view in views:
            # getProfiles leaves out accounts it will not show (taken down, deactivated):
            # the basic view from getFollowers still says who followed.
            record = detailed.get(view["did"], view)
            try:
                accounts.append(
                    _with_moderation(account_from_bluesky(record, observed_at=observed), record)
                )
            except AccountError:
                skipped += 1
        return accounts, skipped


def moderation_labels(profile: Mapping[str, Any]) -> list[str]:
    """Labels a moderation service (not the account itself) put on the account, e.g. ``spam``.

    Self-labels (``src`` is the account's DID) are the mapper's business (``bot`` ->
    declared_bot); negated labels are dropped. At most 16, sorted, each at most 64 characters.
    """
    labels = profile.get("labels")
    did = profile.get("did")
    if not isinstance(labels, list):
        return []
    found = {
        label["val"][:64]
        for label in labels[:256]
        if isinstance(label, dict)
        and isinstance(label.get("val"), str)
        and label.get("src") != did
        and not label.get("neg")
    }
    return sorted(found)[:16]


def _with_moderation(account: Account, profile: Mapping[str, Any]) -> Account:
    labels = moderation_labels(profile)
    if not labels:
        return account
    return dataclasses.replace(account, extra={**account.extra, "moderation_labels": labels})


def _same_subject(page: Mapping[str, Any], did: str) -> bool:
    subject = page.get("subject")
    return not isinstance(subject, dict) or subject.get("did") in (None, did)


def _most_telling(errors: Sequence[BaseException]) -> BaseException:
    """Of failures of parallel calls, the one that says most to the user."""
    for kind in (SuspendedOrPrivate, NotFound, RateLimited):
        for error in errors:
            if isinstance(error, kind):
                return error
    return errors[0]


def _views(raw: object, seen: set[str]) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise UnusableAnswer("Bluesky sent a malformed answer.")
    views = []
    for view in raw:
        if isinstance(view, dict) and isinstance(view.get("did"), str) and view["did"] not in seen:
            seen.add(view["did"])
            views.append(view)
    return views


def _subject(profile: Mapping[str, Any], observed: datetime) -> Account:
    try:
        return account_from_bluesky(profile, observed_at=observed)
    except AccountError:
        raise UnusableAnswer("Bluesky sent a malformed profile.") from None


def _error(reply: Reply) -> Exception:
    """Translate an XRPC error answer (``{"error": "...", "message": "..."}``)."""
    data = reply.data if isinstance(reply.data, dict) else {}
    name = str(data.get("error") or "")
    message = str(data.get("message") or "").lower()
    if name in _GONE_ERRORS or "taken down" in message or "deactivated" in message:
        return SuspendedOrPrivate("That Bluesky account is suspended, taken down or deactivated.")
    if reply.status in (400, 404) and (
        "not found" in message or "unable to resolve" in message or name == "NotFound"
    ):
        return NotFound("No Bluesky account has that handle.")
    if reply.status in (401, 403):
        return PlatformUnavailable("The Bluesky AppView refused the request; try again later.")
    return PlatformUnavailable(f"Bluesky answered HTTP {reply.status}; try again later.")


def pages_needed(n: int) -> int:
    """Sequential getFollowers calls needed for ``n`` followers (for benchmarks)."""
    return max(1, math.ceil(n / PAGE))
