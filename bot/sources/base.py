"""What every follower source returns and accepts: the result, the checkpoint, the protocol.

A fetch reads the subject's profile and up to ``sample`` followers, newest first. After each page
it hands a JSON-serialisable ``Checkpoint`` to ``on_page``; a later fetch given ``resume=`` that
checkpoint continues from the saved cursor instead of starting again (crash recovery, issue 5).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, fields
from typing import Any, Final, Protocol, TypedDict, Unpack

from bot.sources.handles import Handle
from scoring.account import Account, AccountError

__all__ = [
    "CHECKPOINT_VERSION",
    "Checkpoint",
    "FetchOptions",
    "FetchResult",
    "FollowerSource",
    "PageCallback",
    "Paging",
    "ProgressCallback",
    "RequestGate",
    "Started",
    "call_hook",
    "call_progress",
    "fetch_from",
    "max_pages",
    "sample_size",
]

CHECKPOINT_VERSION: Final = 1
ORDER: Final = "newest_first"

#: ``gate(platform)``, or ``gate(platform, host)`` where a platform's servers are many (Mastodon
#: instances) -> an async context manager held around every HTTP request of a source: the
#: pipeline's shared budgets (requests per window, concurrency) plug in here.
RequestGate = Callable[..., AbstractAsyncContextManager[object]]
#: ``progress(read, target)``; may be a plain function or a coroutine function.
ProgressCallback = Callable[[int, int], Awaitable[None] | None]
#: ``on_page(checkpoint)`` after each page is complete; may be sync or async.
PageCallback = Callable[["Checkpoint"], Awaitable[None] | None]


async def call_hook(hook: Callable[..., Any] | None, *args: Any) -> None:
    """Call a sync or async callback."""
    if hook is None:
        return
    result = hook(*args)
    if inspect.isawaitable(result):
        await result


async def call_progress(hook: ProgressCallback | None, read: int, goal: int) -> None:
    """Report ``(read, target)``; the target grows when a platform's count was too low."""
    await call_hook(hook, read, max(read, goal))


def max_pages(target: int, page: int) -> int:
    """A bound on pages for one fetch, so a server that never ends a cursor chain cannot
    keep a worker busy: twice the pages the sample needs, plus a few."""
    return 2 * (-(-target // page)) + 3


def sample_size(requested: int | None, default: int, maximum: int) -> int:
    """The number of followers to read: ``requested`` or the default, within 1..maximum."""
    n = default if requested is None else int(requested)
    return max(1, min(n, maximum))


class FetchOptions(TypedDict, total=False):
    """How a ``FollowerSource.fetch`` reads; each option may be left out (or None)."""

    #: Followers to read (the configured default when None), within the configured maximum.
    sample: int | None
    #: Told ``(read, target)`` as the pages come in.
    progress: ProgressCallback | None
    #: Handed the ``Checkpoint`` after each complete page.
    on_page: PageCallback | None
    #: A checkpoint (or its ``to_dict()``) of this handle to go on from.
    resume: Checkpoint | Mapping[str, Any] | None


@dataclass
class FetchResult:
    """The subject and a sample of its followers, newest first."""

    handle: Handle
    subject: Account
    followers: list[Account]
    #: The follower count the platform itself reports (``None`` when it does not say).
    followers_total: int | None
    order: str = ORDER
    #: HTTP requests made for this fetch (including those before a resume).
    requests: int = 0
    #: True when the whole follower list was read (fewer followers than the sample).
    complete: bool = False
    #: Records that could not be read as accounts, and the first few reasons.
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class Checkpoint:
    """Where a fetch stands: enough to continue it in another process. JSON-serialisable."""

    platform: str
    handle: str
    target: int
    subject: dict[str, Any]
    followers_total: int | None
    followers: list[dict[str, Any]]
    #: The platform's cursor for the next page; ``None`` with ``done`` when nothing is left.
    cursor: str | None
    done: bool = False
    requests: int = 0
    skipped: int = 0
    #: Platform state needed to continue (e.g. the account id to page).
    state: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Every field, in order, after the version: a snapshot (the followers copied), as the
        checkpoint itself keeps changing after ``on_page`` returns."""
        snapshot = {item.name: getattr(self, item.name) for item in fields(self)}
        return {"version": CHECKPOINT_VERSION, **snapshot, "followers": list(self.followers)}

    @classmethod
    def new(cls, handle: Handle, target: int, subject: Account, **state: Any) -> Checkpoint:
        """The checkpoint of a fetch of ``target`` followers that has read only the profile."""
        return cls(
            platform=handle.platform,
            handle=handle.handle,
            target=target,
            subject=subject.to_dict(),
            followers_total=subject.followers_count,
            followers=[],
            cursor=None,
            state=state,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Checkpoint:
        """Validate a saved checkpoint; raise ``ValueError`` when it is not one we wrote."""
        if not isinstance(data, Mapping) or data.get("version") != CHECKPOINT_VERSION:
            raise ValueError("not a follower checkpoint of a known version")
        try:
            cp = cls(
                platform=str(data["platform"]),
                handle=str(data["handle"]),
                target=int(data["target"]),
                subject=dict(data["subject"]),
                followers_total=(
                    None if data["followers_total"] is None else int(data["followers_total"])
                ),
                followers=[dict(f) for f in data["followers"]],
                cursor=None if data["cursor"] is None else str(data["cursor"]),
                done=bool(data["done"]),
                requests=int(data.get("requests", 0)),
                skipped=int(data.get("skipped", 0)),
                state=dict(data.get("state") or {}),
            )
            Account.from_dict(cp.subject)
        except (KeyError, TypeError, ValueError, AccountError) as exc:
            raise ValueError(f"malformed follower checkpoint: {exc}") from None
        return cp

    def accounts(self) -> list[Account]:
        return [Account.from_dict(f) for f in self.followers]


def coerce_checkpoint(
    resume: Checkpoint | Mapping[str, Any] | None, handle: Handle
) -> Checkpoint | None:
    """Accept a checkpoint or its dict; check that it belongs to this handle."""
    if resume is None:
        return None
    cp = resume if isinstance(resume, Checkpoint) else Checkpoint.from_dict(resume)
    if (cp.platform, cp.handle) != (handle.platform, handle.handle):
        raise ValueError("the checkpoint belongs to another account")
    return cp


@dataclass
class Paging:
    """One fetch's follower pages in progress: the checkpoint, the accounts read so far and the
    callbacks each finished page is reported to."""

    cp: Checkpoint
    followers: list[Account]
    #: The progress target: the sample, or fewer when the platform counts fewer followers.
    goal: int
    progress: ProgressCallback | None = None
    on_page: PageCallback | None = None
    #: Requests made before this process took the fetch over (a resume).
    base_requests: int = field(init=False)
    seen: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.base_requests = self.cp.requests
        self.seen = {a.id for a in self.followers}

    @property
    def wanted(self) -> int:
        """Followers still to read."""
        return self.cp.target - len(self.followers)

    def extend(self, accounts: Iterable[Account], skipped: int = 0) -> None:
        """Append accounts already read (and the neutral dicts, needed only for a checkpoint)."""
        accounts = list(accounts)
        self.followers.extend(accounts)
        if self.on_page is not None:
            self.cp.followers.extend(a.to_dict() for a in accounts)
        self.cp.skipped += skipped

    def add(self, records: Iterable[Any], read: Callable[[Any], Account]) -> None:
        """Read each record as an account: one that cannot be read is counted, a repeat dropped."""
        for record in records:
            try:
                account = read(record)
            except AccountError:
                self.cp.skipped += 1
                continue
            if account.id not in self.seen:
                self.seen.add(account.id)
                self.extend([account])

    async def page_done(self, requests: int, *, last_page: bool = False) -> None:
        """Count the requests, end a cursor chain still going at the ``last_page`` allowed,
        and report the page to ``progress`` and ``on_page``."""
        cp = self.cp
        cp.requests = self.base_requests + requests
        if not cp.done and last_page:
            cp.done, cp.cursor = True, None  # a cursor chain that never ends
        await call_progress(self.progress, len(self.followers), self.goal)
        await call_hook(self.on_page, cp)


@dataclass
class Started:
    """What reading a subject's profile gives a fetch: its new checkpoint, the subject as read
    when it should be kept so (else it is read back from the checkpoint), and a first page of
    followers read along with the profile, if any."""

    cp: Checkpoint
    subject: Account | None = None
    first_page: Any = None


async def fetch_from(
    handle: Handle,
    cp: Checkpoint | None,
    start: Callable[[], Awaitable[Started]],
    read_pages: Callable[[Paging, Any], Awaitable[None]],
    *,
    progress: ProgressCallback | None = None,
    on_page: PageCallback | None = None,
) -> FetchResult:
    """The skeleton of every source's fetch: ``start`` (read the profile, make the checkpoint)
    unless resuming ``cp``, report progress, ``read_pages`` while some are left, and the result."""
    started = Started(cp) if cp is not None else await start()
    cp = started.cp
    followers = cp.accounts()
    total = cp.followers_total
    goal = cp.target if total is None else min(cp.target, total)
    await call_progress(progress, len(followers), goal)
    if not cp.done:
        await read_pages(Paging(cp, followers, goal, progress, on_page), started.first_page)
    return FetchResult(
        handle=handle,
        subject=started.subject or Account.from_dict(cp.subject),
        followers=followers,
        followers_total=total,
        requests=cp.requests,
        complete=cp.cursor is None,
        skipped=cp.skipped,
    )


class FollowerSource(Protocol):
    """Reads one platform's followers. Built with the caller's ``aiohttp.ClientSession``."""

    platform: str
    #: Followers per page of the platform's follower list.
    page: int

    async def fetch(self, handle: Handle, **how: Unpack[FetchOptions]) -> FetchResult:
        """Read ``handle``'s profile and up to ``sample`` followers, or go on from ``resume``."""
        ...
