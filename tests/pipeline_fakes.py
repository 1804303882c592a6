"""A fake follower platform (a paged JSON API on loopback) and an AuditRunner that audits through
it, for the pipeline tests and benchmark until the real sources and report are wired in.

The runner behaves like a real source: pages through the platform under the shared budgets, saves
a checkpoint after every page, reports progress, and maps HTTP errors to user or transient errors.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any

import aiohttp
from aiohttp import web

from bot.pipeline.messages import AuditJob, AuditOutcome
from bot.pipeline.runner import (
    Budgets,
    Checkpoint,
    ProgressSink,
    TransientAuditError,
    UserFacingError,
)
from tests.reports import make_report

PAGE = 100


class FakePlatform:
    """``GET /followers?handle=H&cursor=C&limit=L`` -> ``{"followers": [...], "cursor", "total"}``.

    Handles starting with ``missing`` answer 404. ``hold(handle, cursor)`` makes that page wait
    until ``release``; ``fail(handle, n)`` answers 503 to the next n requests for the handle.
    """

    def __init__(self, *, followers: int = 250, latency: float = 0.0) -> None:
        self.followers = followers
        self.latency = latency
        self.requests: list[tuple[str, int]] = []
        self.per_handle: dict[str, int] = defaultdict(int)
        self.active = 0
        self.max_active = 0
        self._holds: dict[tuple[str, int], asyncio.Event] = {}
        self._fail: dict[str, int] = defaultdict(int)
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def hold(self, handle: str, cursor: int) -> None:
        self._holds[(handle, cursor)] = asyncio.Event()

    def release(self, handle: str, cursor: int) -> None:
        self._holds.pop((handle, cursor), asyncio.Event()).set()

    def fail(self, handle: str, times: int) -> None:
        self._fail[handle] += times

    def fetches(self, handle: str) -> int:
        """Audits started for a handle (requests for its first page)."""
        return sum(1 for h, c in self.requests if h == handle and c == 0)

    async def wait_request(self, handle: str, cursor: int, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: (handle, cursor) in self.requests), timeout
            )

    async def _followers(self, request: web.Request) -> web.Response:
        handle = request.query.get("handle", "")
        cursor = int(request.query.get("cursor", "0"))
        limit = min(PAGE, int(request.query.get("limit", str(PAGE))))
        self.requests.append((handle, cursor))
        self.per_handle[handle] += 1
        async with self._arrived:
            self._arrived.notify_all()
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            gate = self._holds.get((handle, cursor))
            if gate is not None:
                await gate.wait()
            if self.latency:
                await asyncio.sleep(self.latency)  # the platform's simulated latency
            if self._fail[handle] > 0:
                self._fail[handle] -= 1
                return web.json_response({"error": "Unavailable"}, status=503)
            if handle.startswith("missing"):
                return web.json_response({"error": "NotFound"}, status=404)
            end = min(self.followers, cursor + limit)
            rows = [{"id": f"{handle}-{i}", "handle": f"f{i}.test"} for i in range(cursor, end)]
            nxt = end if end < self.followers else None
            return web.json_response({"followers": rows, "cursor": nxt, "total": self.followers})
        finally:
            self.active -= 1

    async def _stats(self, _: web.Request) -> web.Response:
        return web.json_response(
            {"requests": len(self.requests), "audits": sum(1 for _, c in self.requests if c == 0),
             "max_active": self.max_active}
        )  # fmt: skip

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/followers", self._followers)
        app.router.add_get("/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        for gate in self._holds.values():
            gate.set()
        if self._runner is not None:
            await self._runner.cleanup()


class PlatformRunner:
    """Audits a handle by paging through a FakePlatform."""

    def __init__(self, base_url: str, budgets: Budgets | None = None) -> None:
        self.base_url = base_url
        self.budgets = budgets
        self._session: aiohttp.ClientSession | None = None
        self.resumed_from: list[int] = []

    async def _get(self, job: AuditJob, cursor: int) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        params = {"handle": job.handle, "cursor": str(cursor), "limit": str(PAGE)}
        url = f"{self.base_url}/followers"
        budget = self.budgets.request(job.platform) if self.budgets else contextlib.nullcontext()
        async with budget, self._session.get(url, params=params) as r:
            status, body = r.status, await r.json()
        if status == 404:
            raise UserFacingError("not_found", f"{job.handle} was not found on {job.platform}.")
        if status >= 500:
            raise TransientAuditError(f"{job.platform} is not answering right now.", 0.0)
        assert isinstance(body, dict)
        return body

    async def run(
        self, job: AuditJob, progress: ProgressSink, checkpoint: Checkpoint
    ) -> AuditOutcome:
        state = await checkpoint.load() or {"cursor": 0, "read": 0}
        cursor, read = int(state["cursor"]), int(state["read"])
        self.resumed_from.append(cursor)
        total = job.sample
        await progress("fetching", read, total)
        of = 0
        while True:
            page = await self._get(job, cursor)
            of = int(page["total"])
            total = min(job.sample, of)
            read += len(page["followers"])
            cursor = page["cursor"]
            if cursor is None or read >= job.sample:
                break
            await checkpoint.save({"cursor": cursor, "read": read})
            await progress("fetching", read, total)
        await progress("scoring")
        subject = {"platform": job.platform, "handle": job.handle}
        sample = {"size": min(read, job.sample), "total": None, "of": of, "order": "newest_first"}
        report = make_report(subject=subject, sample=sample, grade="A", grade_range=["A", "A"])
        return AuditOutcome(report=report)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def build_runner(settings: Any, context: Any) -> PlatformRunner:
    """Runner factory for worker processes: the fake platform is ``bluesky.base_url``."""
    return PlatformRunner(settings.bluesky.base_url, context.budgets)


class Collector:
    """A chat adapter that records what it is delivered (an adapter of its own, not a mock)."""

    def __init__(self) -> None:
        from bot.pipeline.messages import Delivery

        self.deliveries: list[Delivery] = []
        self.fail_next = 0

    async def __call__(self, delivery: Any) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("chat API down")
        self.deliveries.append(delivery)

    def results(self, request_id: str | None = None) -> list[Any]:
        return [
            d for d in self.deliveries
            if d.kind == "result" and (request_id is None or d.request.request_id == request_id)
        ]  # fmt: skip

    def progress(self) -> list[Any]:
        return [d for d in self.deliveries if d.kind == "progress"]


def request(handle: str = "alice.test", *, user: str = "u1", chat: str = "c1",
            adapter: str = "test", sample: int = 250, fresh: bool = False) -> Any:  # fmt: skip
    from bot.pipeline.messages import AuditRequest, ReplyTo

    return AuditRequest(
        user=user, chat=chat, reply=ReplyTo(adapter, {"chat": chat}), platform="bluesky",
        handle=handle, sample=sample, fresh=fresh,
    )  # fmt: skip


async def _serve(followers: int, latency: float) -> None:
    """Run a FakePlatform until killed, printing its URL (for benchmarks)."""
    platform = FakePlatform(followers=followers, latency=latency)
    print(await platform.start(), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    import sys

    asyncio.run(_serve(int(sys.argv[1]), float(sys.argv[2])))
