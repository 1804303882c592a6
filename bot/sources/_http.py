"""One polite JSON GET for every source: bounded retries, rate-limit headers, typed failures.

Redirects are not followed (a platform-controlled ``Location`` must not aim our requests, or a
token, at another host): a 3xx, like an answer too large, is ``UnusableAnswer`` (never retried,
here or by the pipeline). Retries only where
they can help: timeouts and connection failures, 5xx, truncated or malformed
JSON bodies, and 429s whose reset is within ``max_rate_limit_wait_seconds``. Everything else goes
back to the caller with its status, to be read by the platform's own rules. Header values and
request headers (tokens) never appear in messages or logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Unpack

import aiohttp

from bot.infra import durations
from bot.settings import HttpSettings, Settings
from bot.sources.base import (
    FetchOptions,
    FetchResult,
    Paging,
    RequestGate,
    Started,
    coerce_checkpoint,
    fetch_from,
    max_pages,
    sample_size,
)
from bot.sources.errors import PlatformUnavailable, RateLimited, UnusableAnswer
from bot.sources.handles import Handle
from scoring.account import Account

__all__ = ["Reply", "Requester", "seconds_until_reset"]

log = logging.getLogger(__name__)

_RESET_HEADERS = ("x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset")
_REMAINING_HEADERS = ("x-rate-limit-remaining", "ratelimit-remaining", "x-ratelimit-remaining")
_BACKOFF_CAP = 30.0


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    data: Any  # parsed JSON, or None when the body was empty or not JSON (non-2xx only)
    headers: Mapping[str, str]


def _parse_when(value: str, now: float) -> float | None:
    """Seconds from ``now`` until a reset given as epoch seconds, delta seconds or a date."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        # Epoch seconds (X, Bluesky) are large; small numbers are delta seconds (Retry-After).
        return number - now if number > 1e9 else number
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if when.tzinfo is None:
        return None
    return when.timestamp() - now


def seconds_until_reset(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """When the platform says a retry can succeed: Retry-After, or the rate-limit reset header."""
    now = time.time() if now is None else now
    for name in ("retry-after", *_RESET_HEADERS):
        value = headers.get(name)
        if value:
            seconds = _parse_when(value[:64], now)
            if seconds is not None:
                return max(0.0, min(seconds, 86_400.0))
    return None


def _remaining(headers: Mapping[str, str]) -> int | None:
    for name in _REMAINING_HEADERS:
        value = headers.get(name)
        if value is not None:
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


@dataclass(eq=False, repr=False)
class Requester:
    """Makes JSON GETs to one platform and counts them; shared by one fetch."""

    session: aiohttp.ClientSession
    _: KW_ONLY
    label: str
    settings: HttpSettings
    headers: Mapping[str, str] | None = None
    follow_redirects: bool = False
    #: The base URL of this fetch's requests, where it differs per fetch (Mastodon).
    base: str = ""
    platform: str = ""
    host: str | None = None
    gate: RequestGate | None = None
    requests: int = field(default=0, init=False)
    #: Monotonic time before which the platform said no budget is left, if any.
    _blocked_until: float | None = field(default=None, init=False)
    _timeout: aiohttp.ClientTimeout = field(init=False)

    def __post_init__(self) -> None:
        self.headers = dict(self.headers or {})
        self._timeout = aiohttp.ClientTimeout(total=self.settings.timeout_seconds)

    def _hold(self) -> AbstractAsyncContextManager[object]:
        """The gate held around one request: per platform, or per host when one is named."""
        if self.gate is None:
            return contextlib.nullcontext()
        if self.host is None:
            return self.gate(self.platform)
        return self.gate(self.platform, self.host)

    def _backoff(self, attempt: int) -> float:
        base = min(_BACKOFF_CAP, float(self.settings.backoff_seconds) * 2.0**attempt)
        return base * (0.5 + random.random() / 2)

    async def _respect_budget(self) -> None:
        if self._blocked_until is None:
            return
        wait = self._blocked_until - time.monotonic()
        if wait <= 0:
            self._blocked_until = None
            return
        if wait > self.settings.max_rate_limit_wait_seconds:
            raise RateLimited(self._limited_message(wait), wait)
        await asyncio.sleep(wait)
        self._blocked_until = None

    def _limited_message(self, wait: float) -> str:
        return f"{self.label} is rationing requests right now; try again in {durations.wait(wait)}."

    def _note_budget(self, headers: Mapping[str, str]) -> None:
        if _remaining(headers) == 0:
            reset = seconds_until_reset(headers)
            if reset:
                self._blocked_until = time.monotonic() + reset

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        limit = self.settings.max_body_bytes
        if (resp.content_length or 0) > limit:
            raise UnusableAnswer(f"{self.label} sent an answer too large to read.")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            if size > limit:
                raise UnusableAnswer(f"{self.label} sent an answer too large to read.")
            chunks.append(chunk)
        return b"".join(chunks)

    async def get(self, url: str, params: Any = None) -> Reply:
        """GET ``url`` and parse JSON; typed errors once the retries are spent."""
        attempt = 0
        while True:
            await self._respect_budget()
            self.requests += 1
            problem: str
            try:
                async with (
                    self._hold(),
                    self.session.get(
                        url,
                        params=params,
                        headers=self.headers,
                        timeout=self._timeout,
                        allow_redirects=self.follow_redirects,
                        max_redirects=3,
                    ) as resp,
                ):
                    status = resp.status
                    headers = resp.headers
                    body = await self._read(resp)
            except TimeoutError:
                problem = f"{self.label} did not answer in time; try again later."
            except aiohttp.TooManyRedirects:
                raise UnusableAnswer(f"{self.label} redirected too many times.") from None
            except aiohttp.ClientError as exc:
                problem = f"{self.label} could not be reached; try again later."
                log.debug("%s request failed: %s", self.label, type(exc).__name__)
            else:
                self._note_budget(headers)
                if status == 429:
                    wait = seconds_until_reset(headers)
                    wait = self._backoff(attempt) if wait is None else wait
                    if attempt < self.settings.max_retries and (
                        wait <= self.settings.max_rate_limit_wait_seconds
                    ):
                        log.info("%s rate limited; waiting %.2f s", self.label, wait)
                        self._blocked_until = None
                        await asyncio.sleep(wait)
                        attempt += 1
                        continue
                    raise RateLimited(self._limited_message(wait), wait)
                if 300 <= status < 400:
                    raise UnusableAnswer(
                        f"{self.label} answered with a redirect (HTTP {status}), not followed."
                    )
                if status >= 500:
                    problem = f"{self.label} is having trouble (HTTP {status}); try again later."
                else:
                    data, parsed = _parse(body)
                    if parsed or not 200 <= status < 300:
                        return Reply(status, data if parsed else None, headers)
                    problem = f"{self.label} sent a malformed answer; try again later."
            if attempt >= self.settings.max_retries:
                raise PlatformUnavailable(problem)
            delay = self._backoff(attempt)
            log.info("%s: %s (retry %d in %.2f s)", self.label, problem, attempt + 1, delay)
            await asyncio.sleep(delay)
            attempt += 1


def _parse(body: bytes) -> tuple[Any, bool]:
    try:
        return json.loads(body), True
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, False


class HttpSource:
    """What every platform source shares: the caller's HTTP session, the settings and the request
    gate (the pipeline's shared budgets), a ``Requester`` built from them for each fetch, and the
    fetch itself; a platform supplies ``_requests``, ``_start`` and ``_page_through``."""

    platform = ""
    #: Followers per page of the platform's follower list (each platform sets its own).
    page = 100

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        gate: RequestGate | None = None,
    ) -> None:
        self._session = session
        self._gate = gate
        self._settings = settings

    async def fetch(self, handle: Handle, **how: Unpack[FetchOptions]) -> FetchResult:
        """Read ``handle``'s profile and up to ``sample`` followers, or go on from ``resume``."""
        unknown = how.keys() - FetchOptions.__optional_keys__
        if unknown:  # as a keyword signature would: a misspelt option is an error, not ignored
            raise TypeError(f"fetch() got unexpected options: {', '.join(sorted(unknown))}")
        cp = coerce_checkpoint(how.get("resume"), handle)
        async with self._requests(handle) as http:
            observed = datetime.now(UTC)
            return await fetch_from(
                handle,
                cp,
                lambda: self._start(http, handle, self._target(how.get("sample")), observed),
                lambda paging, first: self._page_through(http, handle, paging, first, observed),
                progress=how.get("progress"),
                on_page=how.get("on_page"),
            )

    def _requests(self, handle: Handle) -> AbstractAsyncContextManager[Requester]:
        """The requester for one fetch of ``handle``, for as long as the fetch lasts."""
        raise NotImplementedError

    async def _start(
        self, http: Requester, handle: Handle, target: int, observed: datetime
    ) -> Started:
        """Read the subject's profile and make the checkpoint of a new fetch of ``target``."""
        raise NotImplementedError

    async def _page_through(
        self, http: Requester, handle: Handle, paging: Paging, first_page: Any, observed: datetime
    ) -> None:
        """Read follower pages until the sample is complete or the list ends."""
        raise NotImplementedError

    async def _follow_cursor(
        self,
        http: Requester,
        paging: Paging,
        read_page: Callable[[int], Awaitable[tuple[list[Any], str | None]]],
        read_account: Callable[[Any], Account],
    ) -> None:
        """The ``_page_through`` of a platform paged by one cursor, a page at a time, until the
        sample is complete, the list ends or the page bound is met. ``read_page(limit)`` asks for
        a page at ``paging.cp.cursor`` and gives back its records and the next cursor, if any."""
        cp = paging.cp
        page_limit = max_pages(cp.target, self.page)
        for page_no in range(page_limit):
            wanted = paging.wanted
            records, next_cursor = await read_page(min(self.page, wanted))
            paging.add(records[:wanted], read_account)
            # An empty page, or a cursor that points back at this page, ends the chain.
            cp.cursor = next_cursor if records and next_cursor != cp.cursor else None
            cp.done = len(paging.followers) >= cp.target or cp.cursor is None
            await paging.page_done(http.requests, last_page=page_no == page_limit - 1)
            if cp.done:
                return

    def _target(self, sample: int | None) -> int:
        """Followers to read: ``sample`` or the configured default, within the configured max."""
        return sample_size(sample, self._settings.sample.default, self._settings.sample.max)

    def _new_requester(
        self,
        label: str,
        settings: HttpSettings,
        headers: Mapping[str, str] | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        host: str | None = None,
        base: str = "",
    ) -> Requester:
        """A requester on the caller's session (or ``session``), gated per platform (or per
        ``host`` for a platform whose budget is kept per host)."""
        return Requester(
            session or self._session,
            label=label,
            settings=settings,
            headers=headers,
            platform=self.platform,
            host=host,
            gate=self._gate,
            base=base,
        )
