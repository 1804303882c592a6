"""``/healthz`` and Prometheus ``/metrics`` over aiohttp, for any long-running process."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.pipeline.metrics import Metrics

if TYPE_CHECKING:
    from bot.infra.runtime import Health

__all__ = ["start_ops_server"]

log = logging.getLogger("followaudit.ops")


def build_app(
    redis: aioredis.Redis, metrics: Metrics, health: Health | None = None
) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        """200 ``{"ok": true}`` when Redis answers and every part runs; else 503, saying what."""
        body: dict[str, object] = {"ok": True}
        if health is not None:
            body["parts"] = health.report()
            body["ok"] = health.ok
        try:
            async with asyncio.timeout(1.0):
                await redis.ping()
        except Exception as exc:
            body.update(ok=False, redis=type(exc).__name__)
        return web.json_response(body, status=200 if body["ok"] else 503)

    async def metrics_view(_: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    return app


async def start_ops_server(
    redis: aioredis.Redis, metrics: Metrics, host: str, port: int, health: Health | None = None
) -> web.AppRunner:
    """Serve on host:port (port 0: a free one, see the returned runner's addresses)."""
    runner = web.AppRunner(build_app(redis, metrics, health), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("ops endpoint listening", extra={"addresses": [str(a) for a in runner.addresses]})
    return runner
