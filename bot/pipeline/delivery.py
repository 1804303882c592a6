"""Delivery to chat adapters: each adapter reads its own Redis stream through a consumer group.

An entry is acknowledged and deleted only after the adapter's handler has returned, so an adapter
that restarts (same ``adapter`` name) delivers what arrived while it was down; entries held by a
dead instance are taken over after ``claim_idle`` seconds. A delivered marker per delivery id makes
a repeated entry harmless. Handlers should be idempotent (editing a message is) because a crash
between the handler and the acknowledgement repeats that one delivery.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from bot.pipeline.messages import Delivery, MessageError, new_id
from bot.pipeline.resilience import Stopped, retrying
from bot.pipeline.store import ADAPTER_GROUP, Store, reply_text

__all__ = ["DeliveryConsumer", "DeliveryHandler"]

log = logging.getLogger("followaudit.delivery")

DeliveryHandler = Callable[[Delivery], Awaitable[None]]
#: How long a delivered marker is kept (longer than any redelivery window).
DELIVERED_MEMORY_SECONDS = 86400


class DeliveryConsumer:
    """Reads ``deliver:<adapter>`` and calls ``handler`` once per delivery."""

    def __init__(
        self,
        redis: aioredis.Redis,
        adapter: str,
        handler: DeliveryHandler,
        *,
        prefix: str = "fa:",
        consumer: str | None = None,
        claim_idle: float = 30.0,
        block: float = 1.0,
        batch: int = 50,
        max_failures: int = 8,
    ) -> None:
        self.store = Store(redis, prefix)
        self.adapter = adapter
        self.stream = self.store.delivery_stream(adapter)
        self.handler = handler
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{new_id()[:6]}"
        self.claim_idle_ms = max(1, int(claim_idle * 1000))
        self.block_ms = max(1, int(block * 1000))
        self.batch = batch
        self.max_failures = max_failures
        self.delivered = 0
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set: first this consumer's own pending entries (a restart
        with the same consumer name), then others' stalled ones, then new entries. Redis being
        unreachable once ``stop`` is set ends the loop too (what is pending stays pending)."""
        try:
            await self._run(stop)
        except Stopped:
            log.info("delivery stopped with redis unavailable", extra={"adapter": self.adapter})

    async def _run(self, stop: asyncio.Event) -> None:
        await retrying(self.store.ensure_group, self.stream, ADAPTER_GROUP, what="group", stop=stop)
        backlog = True
        next_claim = 0.0
        loop = asyncio.get_running_loop()
        self.ready.set()
        while not stop.is_set():
            if backlog:
                entries = await retrying(self._read, "0", None, what="deliver-read", stop=stop)
                backlog = bool(entries)
            else:
                entries = []
                if loop.time() >= next_claim:
                    next_claim = loop.time() + self.claim_idle_ms / 4000
                    entries = await retrying(self._autoclaim, what="deliver-claim", stop=stop)
                if not entries:
                    entries = await retrying(
                        self._read, ">", self.block_ms, what="deliver-read", stop=stop
                    )
            for msg_id, fields in entries:
                await self._deliver(msg_id, fields)

    async def _read(self, start: str, block: int | None) -> list[tuple[str, dict[bytes, bytes]]]:
        reply = await self.store.redis.xreadgroup(
            ADAPTER_GROUP, self.consumer, {self.stream: start}, count=self.batch, block=block
        )
        out = []
        for _stream, entries in reply or []:
            for msg_id, fields in entries:
                out.append((reply_text(msg_id), fields or {}))
        return out

    async def _autoclaim(self) -> list[tuple[str, dict[bytes, bytes]]]:
        reply = await self.store.redis.xautoclaim(
            self.stream, ADAPTER_GROUP, self.consumer, self.claim_idle_ms, "0-0", count=self.batch
        )
        return [(reply_text(i), f or {}) for i, f in reply[1] if i is not None]

    async def _deliver(self, msg_id: str, fields: dict[bytes, bytes]) -> None:
        raw = fields.get(b"d", b"")
        try:
            delivery = Delivery.from_json(raw)
        except MessageError as exc:
            log.error("malformed delivery dropped", extra={"msg_id": msg_id, "reason": str(exc)})
            await retrying(self._ack, msg_id, None, what="deliver-ack")
            return
        # Results are remembered as delivered; progress is superseded by the next update anyway.
        marker = None
        if delivery.kind == "result":
            marker = self.store.key("delivered", self.adapter, delivery.delivery_id)
        if marker and await retrying(self.store.redis.exists, marker, what="deliver-seen"):
            await retrying(self._ack, msg_id, None, what="deliver-ack")
            return
        try:
            await self.handler(delivery)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The adapter could not deliver (chat API down...): leave it pending; it is retried
            # by the autoclaim pass once idle, up to ``max_failures`` times.
            failures = await retrying(self._count_failure, msg_id, what="deliver-fail")
            if failures < self.max_failures:
                log.exception("delivery failed; will retry", extra={"msg_id": msg_id})
                return
            log.exception("delivery failed too often; dropped",
                          extra={"msg_id": msg_id, "failures": failures})  # fmt: skip
            await retrying(self._ack, msg_id, None, what="deliver-ack")
            return
        await retrying(self._ack, msg_id, marker, what="deliver-ack")
        self.delivered += 1

    async def _count_failure(self, msg_id: str) -> int:
        key = f"{self.stream}:failures"
        async with self.store.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, msg_id, 1)
            pipe.expire(key, DELIVERED_MEMORY_SECONDS)
            count, _ = await pipe.execute()
        return int(count)

    async def _ack(self, msg_id: str, marker: str | None) -> Any:
        async with self.store.redis.pipeline(transaction=True) as pipe:
            if marker is not None:
                pipe.set(marker, b"1", ex=DELIVERED_MEMORY_SECONDS)
            pipe.xack(self.stream, ADAPTER_GROUP, msg_id)
            pipe.xdel(self.stream, msg_id)
            return await pipe.execute()
