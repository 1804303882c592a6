"""``/healthz`` and Prometheus ``/metrics`` over aiohttp, for any long-running process."""

from __future__ import annotations

import asyncio
import logging

import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.pipeline.metrics import Metrics

__all__ = ["start_ops_server"]

log = logging.getLogger("followaudit.ops")


def build_app(redis: aioredis.Redis, metrics: Metrics) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        try:
            async with asyncio.timeout(1.0):
                await redis.ping()
        except Exception as exc:
            return web.json_response({"ok": False, "redis": type(exc).__name__}, status=503)
        return web.json_response({"ok": True})

    async def metrics_view(_: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_view)
    return app


async def start_ops_server(
    redis: aioredis.Redis, metrics: Metrics, host: str, port: int
) -> web.AppRunner:
    """Serve on host:port (port 0: a free one, see the returned runner's addresses)."""
    runner = web.AppRunner(build_app(redis, metrics), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    log.info("ops endpoint listening", extra={"addresses": [str(a) for a in runner.addresses]})
    return runner
