"""All settings in one pydantic-settings object, built once by the command that starts a process.

Sources, in order of precedence: keyword arguments, environment (``FOLLOWAUDIT_`` prefix, nested
names joined by ``__``, e.g. ``FOLLOWAUDIT_X__BEARER_TOKEN``), a ``.env`` file, then the defaults
below. Secrets are ``SecretStr``: they never print in logs, reprs or errors.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class HttpSettings(BaseModel):
    """How one platform's API is called: timeouts, bounded retries, rate-limit patience."""

    #: Whole-request timeout in seconds (connect, send, read the body).
    timeout_seconds: float = Field(15.0, gt=0)
    #: Retries after the first attempt, only for 5xx, timeouts, malformed bodies and short 429s.
    max_retries: int = Field(3, ge=0, le=10)
    #: First backoff in seconds; doubles each retry, with jitter.
    backoff_seconds: float = Field(0.5, ge=0)
    #: Longest wait for a rate-limit reset inside one fetch; longer means RateLimited is raised.
    max_rate_limit_wait_seconds: float = Field(10.0, ge=0)
    #: Largest response body read, in bytes.
    max_body_bytes: int = Field(8_000_000, ge=1024)


class BlueskySettings(HttpSettings):
    base_url: str = "https://public.api.bsky.app"
    #: getProfiles batches in flight at once, overlapping the follower pages.
    profile_concurrency: int = Field(8, ge=1, le=32)


class MastodonSettings(HttpSettings):
    #: Unset: each handle's own instance over https. Set: every Mastodon request goes here.
    base_url: str | None = None


class XSettings(HttpSettings):
    base_url: str = "https://api.x.com"
    bearer_token: SecretStr | None = None


class UploadSettings(BaseModel):
    """Uploaded follower exports (CSV, JSON, JSON Lines)."""

    max_bytes: int = Field(20_000_000, ge=1024)
    #: Rows beyond this are not read.
    max_rows: int = Field(50_000, ge=1)


class SampleSettings(BaseModel):
    default: int = Field(1000, ge=1)
    max: int = Field(5000, ge=1)


class WorkerSettings(BaseModel):
    #: An audit whose heartbeat is older than this is stalled and taken over by a live worker.
    stall_seconds: float = Field(30.0, gt=0)
    concurrency: int = Field(4, ge=1)


class TelegramSettings(BaseModel):
    token: SecretStr | None = None
    base_url: str = "https://api.telegram.org"


class DiscordSettings(BaseModel):
    token: SecretStr | None = None
    api_base: str = "https://discord.com/api/v10"
    #: Empty: ask Discord's ``/gateway/bot``.
    gateway_url: str | None = None


class Settings(BaseSettings):
    """Every setting of every followaudit process."""

    model_config = SettingsConfigDict(
        env_prefix="FOLLOWAUDIT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    #: Unset: ``followaudit run`` and ``chat`` start an embedded private redis-server.
    redis_url: str | None = None
    #: Where a bare ``@name`` goes: bluesky, mastodon or x.
    default_platform: str = "bluesky"
    bluesky: BlueskySettings = BlueskySettings()
    mastodon: MastodonSettings = MastodonSettings()
    x: XSettings = XSettings()
    uploads: UploadSettings = UploadSettings()
    sample: SampleSettings = SampleSettings()
    worker: WorkerSettings = WorkerSettings()
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
