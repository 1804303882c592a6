"""Each audit's scored sample, kept for review (issue 18): the neutral ``Account`` records as the
audit saw them, the model's probability of each, the model version, the audit's fake-share
estimate and the audit (job) id. The worker keeps one per finished audit; ``/review HANDLE``
draws from the handle's latest.

Layout (prefix ``fa:`` by default): ``sample:<audit id>`` the sample as versioned JSON, and
``sample:latest:<platform>:<handle>`` the handle's latest audit id; both expire with the audit
history (``history.retention_seconds``). A sample holds at most ``MAX_SAMPLE_ACCOUNTS`` accounts
and ``MAX_SAMPLE_BYTES`` of JSON; a larger audit keeps a uniform random subset (still a random
sample of the audience), a record over the byte bound is not kept.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import redis.asyncio as aioredis

from bot.pipeline.records import load_record, stored
from bot.pipeline.resilience import retrying
from scoring.account import Account, AccountError

__all__ = [
    "MAX_SAMPLE_ACCOUNTS",
    "MAX_SAMPLE_BYTES",
    "SampleError",
    "SampleStore",
    "ScoredSample",
]

VERSION: Final = 1
MAX_SAMPLE_ACCOUNTS: Final = 10_000
MAX_SAMPLE_BYTES: Final = 48 * 1024 * 1024


class SampleError(ValueError):
    """A stored sample that is not valid JSON of a version we write."""


@dataclass(frozen=True, slots=True)
class ScoredSample:
    """One audit's scored followers, in the sample's order (newest follower first)."""

    platform: str
    handle: str
    audit_id: str
    model_version: str
    accounts: tuple[Account, ...]
    probabilities: tuple[float, ...]
    #: The audit's fake-share estimate and its 95% interval, when it had one.
    fake_share: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        if len(self.accounts) != len(self.probabilities):
            raise ValueError("one probability per account")

    @classmethod
    def of(
        cls,
        *,
        platform: str,
        handle: str,
        audit_id: str,
        model_version: str,
        accounts: Sequence[Account],
        probabilities: Sequence[float],
        fake_share: tuple[float | None, float | None, float | None] | None = None,
    ) -> ScoredSample:
        """Neutral accounts (no extras, labels or sources), at most ``MAX_SAMPLE_ACCOUNTS``
        (a uniform random subset, seeded by the audit id, when there are more)."""
        picked = list(range(len(accounts)))
        if len(picked) > MAX_SAMPLE_ACCOUNTS:
            seed = int.from_bytes(hashlib.sha256(audit_id.encode()).digest()[:8], "big")
            picked = sorted(random.Random(seed).sample(picked, MAX_SAMPLE_ACCOUNTS))
        share = None
        if fake_share is not None and None not in fake_share:
            share = (float(fake_share[0]), float(fake_share[1]), float(fake_share[2]))  # type: ignore[arg-type]
        return cls(
            platform=platform,
            handle=handle,
            audit_id=audit_id,
            model_version=model_version,
            accounts=tuple(replace(accounts[i], label=None, source=None, extra={}) for i in picked),
            probabilities=tuple(round(float(probabilities[i]), 6) for i in picked),
            fake_share=share,
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": VERSION,
                "platform": self.platform,
                "handle": self.handle,
                "audit_id": self.audit_id,
                "model_version": self.model_version,
                "fake_share": None if self.fake_share is None else list(self.fake_share),
                "accounts": [
                    {k: v for k, v in a.to_dict().items() if v is not None and k != "extra"}
                    for a in self.accounts
                ],
                "probabilities": list(self.probabilities),
            },
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> ScoredSample:
        obj = load_record(raw, max_bytes=MAX_SAMPLE_BYTES, version=VERSION, error=SampleError)
        texts = [obj.get(k) for k in ("platform", "handle", "audit_id", "model_version")]
        if not all(isinstance(t, str) and 0 < len(t) <= 512 for t in texts):
            raise SampleError("platform, handle, audit_id and model_version must be short text")
        accounts, probs = obj.get("accounts"), obj.get("probabilities")
        if not isinstance(accounts, list) or not isinstance(probs, list):
            raise SampleError("'accounts' and 'probabilities' must be lists")
        if len(accounts) != len(probs) or len(accounts) > MAX_SAMPLE_ACCOUNTS:
            raise SampleError(f"one probability per account, at most {MAX_SAMPLE_ACCOUNTS:,}")
        if not all(_unit(p) for p in probs):
            raise SampleError("probabilities must be numbers in 0..1")
        share = obj.get("fake_share")
        if share is not None and not (
            isinstance(share, list) and len(share) == 3 and all(_unit(x) for x in share)
        ):
            raise SampleError("'fake_share' must be three numbers in 0..1 or null")
        try:
            parsed = tuple(Account.from_dict(a) for a in accounts)
        except (AccountError, TypeError, AttributeError) as exc:
            raise SampleError(f"account: {exc}") from None
        platform, handle, audit_id, version = texts
        return cls(
            platform=platform,  # type: ignore[arg-type]
            handle=handle,  # type: ignore[arg-type]
            audit_id=audit_id,  # type: ignore[arg-type]
            model_version=version,  # type: ignore[arg-type]
            accounts=parsed,
            probabilities=tuple(float(p) for p in probs),
            fake_share=None if share is None else _triple(share),
        )


def _triple(values: list[float]) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])


def _unit(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and 0.0 <= x <= 1.0


class SampleStore:
    """Typed reads and writes of audited samples; every call rides out a Redis outage."""

    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str = "fa:",
        *,
        ttl: float = 30 * 86400.0,
        give_up_after: float | None = None,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = max(1, int(ttl))
        self.give_up_after = give_up_after

    def key(self, *parts: str) -> str:
        return self.prefix + "sample:" + ":".join(parts)

    async def put(self, sample: ScoredSample, body: str | None = None) -> bool:
        """Keep the sample (``body``: its ``to_json()``, when already made) and make it the
        handle's latest; False when it is over ``MAX_SAMPLE_BYTES`` (nothing kept)."""
        data = sample.to_json() if body is None else body
        if len(data.encode("utf-8")) > MAX_SAMPLE_BYTES:
            return False

        async def write() -> None:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(self.key(sample.audit_id), data, ex=self.ttl)
                pipe.set(self.key("latest", sample.platform, sample.handle), sample.audit_id,
                         ex=self.ttl)  # fmt: skip
                await pipe.execute()

        await retrying(write, what="sample put", give_up_after=self.give_up_after)
        return True

    async def get(self, audit_id: str) -> ScoredSample | None:
        raw = await retrying(
            self.redis.get, self.key(audit_id), what="sample get",
            give_up_after=self.give_up_after,
        )  # fmt: skip
        return stored(raw, ScoredSample.from_json, SampleError, None)

    async def latest(self, platform: str, handle: str) -> ScoredSample | None:
        """The handle's latest audited sample that is still kept, or None."""
        raw = await retrying(
            self.redis.get, self.key("latest", platform, handle), what="sample latest",
            give_up_after=self.give_up_after,
        )  # fmt: skip
        if raw is None:
            return None
        return await self.get(raw.decode() if isinstance(raw, bytes) else str(raw))
