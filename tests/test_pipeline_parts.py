"""The launcher, the message formats and the ops endpoint."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from typing import Any

import aiohttp
import pytest

from bot.infra.ops import start_ops_server
from bot.infra.redis_server import RedisServer
from bot.pipeline.messages import (
    MAX_MESSAGE_BYTES,
    AuditJob,
    AuditOutcome,
    AuditRequest,
    Delivery,
    MessageError,
    Progress,
)
from bot.pipeline.metrics import Metrics
from bot.pipeline.records import load_record, stored
from bot.pipeline.resilience import TRANSIENT, connect
from tests.helpers import wait_until
from tests.pipeline_fakes import request


def test_redis_server_keeps_data_across_restart_and_socket_is_private() -> None:
    with RedisServer(appendfsync="always") as server:
        import redis

        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        client.close()
        mode = os.stat(os.path.dirname(server.socket_path or "")).st_mode
        assert stat.S_IMODE(mode) == 0o700
        server.restart()
        client = redis.Redis.from_url(server.url)
        assert client.get("k") == b"v"
        client.close()
        aof = server.data_dir
        assert (aof / "appendonlydir").is_dir() or (aof / "appendonly.aof").is_file()
    assert not server.answers()


def test_missing_binary_says_how_to_get_one() -> None:
    server = RedisServer(binary="no-such-redis-server")
    with pytest.raises(Exception, match="FOLLOWAUDIT_REDIS_URL"):
        server.start()
    server.close()


def test_messages_round_trip_and_reject_other_versions() -> None:
    req = request("a.test")
    assert AuditRequest.from_dict(json.loads(json.dumps(req.to_dict()))) == req
    job = AuditJob("bluesky", "a.test", 100, job_id="j1", created_at=5.0)
    assert AuditJob.from_json(job.to_json()) == job
    out = AuditOutcome.failure("not_found", "nope")
    assert AuditOutcome.from_json(out.to_json()).error == out.error
    bad = {**job.to_dict(), "v": 2}
    with pytest.raises(MessageError, match="version"):
        AuditJob.from_json(json.dumps(bad))
    with pytest.raises(MessageError, match="sample"):
        AuditJob.from_json(json.dumps({**job.to_dict(), "sample": "ten"}))
    with pytest.raises(MessageError, match="too large"):
        AuditJob.from_json(b" " * (MAX_MESSAGE_BYTES + 1))
    with pytest.raises(MessageError, match="kind"):
        Delivery.from_json(json.dumps({"v": 1, "kind": "x", "request": req.to_dict(),
                                       "payload": {}}))  # fmt: skip
    assert Progress("fetching", 400, 1000).describe() == "fetching 400 of 1,000 followers"


async def test_healthz_and_metrics(redis: Any, redis_server: RedisServer) -> None:
    metrics = Metrics()
    metrics.audits.labels("ok").inc()
    runner = await start_ops_server(redis, metrics, "127.0.0.1", 0)
    try:
        host, port = runner.addresses[0][:2]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://{host}:{port}/healthz") as r:
                assert r.status == 200 and (await r.json())["ok"] is True
            async with http.get(f"http://{host}:{port}/metrics") as r:
                body = await r.text()
                assert 'followaudit_audits_total{outcome="ok"} 1.0' in body
                assert "followaudit_queue_depth" in body
            redis_server.stop()
            async with http.get(f"http://{host}:{port}/healthz") as r:
                assert r.status == 503
            redis_server.start()
            await wait_until(lambda: _healthy(http, host, port), what="healthy again")
    finally:
        await runner.cleanup()


async def _healthy(http: aiohttp.ClientSession, host: str, port: int) -> bool:
    async with http.get(f"http://{host}:{port}/healthz") as r:
        return r.status == 200


async def test_connect_fails_fast_so_callers_decide(redis_server: RedisServer) -> None:
    client = connect(redis_server.url)
    try:
        redis_server.stop()
        with pytest.raises(TRANSIENT):
            await asyncio.wait_for(client.ping(), 5)
    finally:
        await client.aclose()


def test_public_names() -> None:
    import bot.pipeline

    assert set(bot.pipeline.__all__) == {
        "AuditJob", "AuditOutcome", "AuditRequest", "AuditRunner", "AuditService", "Budgets",
        "Checkpoint", "Delivery", "DeliveryConsumer", "DeliveryHandler", "MessageError",
        "Progress", "ProgressSink", "ReplyTo", "RunnerContext", "Submission",
        "TransientAuditError", "UserError", "UserFacingError", "Worker",
    }  # fmt: skip
    assert all(hasattr(bot.pipeline, name) for name in bot.pipeline.__all__)


def test_score_command_does_not_import_the_pipeline() -> None:
    import subprocess
    import sys

    code = (
        "import sys, bot.cli; bot.cli.build_parser(); "
        "print(any(m.startswith(('redis', 'bot.pipeline', 'aiohttp')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_stored_record_reads_as_its_default_when_absent_or_unreadable() -> None:
    def read(raw: str | bytes) -> dict[str, Any]:
        return load_record(raw, max_bytes=100, version=1, error=MessageError)

    assert stored(b'{"v": 1, "a": 2}', read, MessageError, None) == {"v": 1, "a": 2}
    assert stored(None, read, MessageError, "none") == "none"
    for unreadable in (b"{", b'{"v": 2}', b"[1]", b'{"v": 1, "pad": "' + b"x" * 100 + b'"}'):
        assert stored(unreadable, read, MessageError, "none") == "none"
    with pytest.raises(ValueError):  # only the named error means unreadable
        stored(b"x", lambda raw: int(raw), MessageError, None)
