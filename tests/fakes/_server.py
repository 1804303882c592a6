"""Shared machinery of the fake platform servers: loopback start/stop, latency, faults, counters.

A fake is an aiohttp app on 127.0.0.1 with an ephemeral port. Tests change its in-memory data
between calls and queue faults (``fail("getFollowers", "429", times=2)``) that the next matching
requests suffer, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiohttp import web

__all__ = ["FAULTS", "FakeServer", "json_response", "serve_in_thread"]

#: What a queued fault does: rate limit, server error, hang past the client's timeout,
#: a body that is not JSON, a JSON body cut short, a 200 whose JSON has the wrong shape,
#: a redirect elsewhere, or a 200 of 64 KB of JSON (beyond a small ``max_body_bytes``).
FAULTS = (
    "429", "500", "502", "503", "timeout", "malformed", "truncated", "wrong_shape", "redirect",
    "too_large",
)  # fmt: skip

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


class FakeServer:
    """Base of the fakes: routes registered by subclasses, knobs and counters here."""

    #: Seconds a "timeout" fault hangs (the client gives up first).
    hang_seconds = 30.0

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.requests: Counter[str] = Counter()
        self.log: list[tuple[str, dict[str, str], float]] = []  # (endpoint, query, t_start)
        self._faults: dict[str, deque[tuple[str, float | None]]] = {}
        #: An unset event here holds every request until the test sets it (a server that does
        #: not answer for as long as the test wants); ``held`` counts the requests waiting on it.
        self.hold: asyncio.Event | None = None
        self.held = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.app = web.Application(middlewares=[self._middleware])

    # --- knobs ---------------------------------------------------------------------------
    def fail(
        self, endpoint: str, kind: str, *, times: int = 1, retry_after: float | None = None
    ) -> None:
        """Make the next ``times`` requests to ``endpoint`` (a key of ``requests``) fail."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}")
        queue = self._faults.setdefault(endpoint, deque())
        queue.extend([(kind, retry_after)] * times)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    # --- to be provided by subclasses ------------------------------------------------------
    def endpoint_of(self, request: web.Request) -> str:
        return request.path

    def rate_limit_headers(self, retry_after: float) -> dict[str, str]:
        return {"Retry-After": str(max(0, round(retry_after)))}

    def wrong_shape(self, endpoint: str) -> Any:
        return {"unexpected": True}

    # --- lifetime --------------------------------------------------------------------------
    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the middleware that applies latency, faults and counts ---------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        endpoint = self.endpoint_of(request)
        self.requests[endpoint] += 1
        self.log.append((endpoint, dict(request.query), time.monotonic()))
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.hold is not None:
            self.held += 1
            try:
                await self.hold.wait()
            finally:
                self.held -= 1
        queue = self._faults.get(endpoint)
        if queue:
            kind, retry_after = queue.popleft()
            return await self._fault(endpoint, kind, retry_after)
        return await handler(request)

    async def _fault(self, endpoint: str, kind: str, retry_after: float | None) -> web.Response:
        if kind == "429":
            wait = 0.05 if retry_after is None else retry_after
            return json_response(
                {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                429,
                self.rate_limit_headers(wait),
            )
        if kind in ("500", "502", "503"):
            return web.Response(status=int(kind), text="upstream failure")
        if kind == "timeout":
            await asyncio.sleep(self.hang_seconds)
            return web.Response(status=504)
        if kind == "malformed":
            return web.Response(
                status=200, text="<html>not json</html>", content_type="application/json"
            )
        if kind == "truncated":
            return web.Response(
                status=200, text='{"followers": [{"did": "did:plc:', content_type="application/json"
            )
        if kind == "redirect":
            raise web.HTTPFound(f"{self.base_url}/elsewhere")
        if kind == "too_large":
            return json_response({"padding": "x" * 65536})
        return json_response(self.wrong_shape(endpoint))


@contextlib.contextmanager
def serve_in_thread(fake: FakeServer) -> Iterator[str]:
    """Run ``fake`` on its own event loop in a thread, for synchronous callers (CLI tests).

    Yields the base URL; set the fake's data before the code under test makes requests.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-platform", daemon=True)
    thread.start()
    try:
        base_url = asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=10)
        yield base_url
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
