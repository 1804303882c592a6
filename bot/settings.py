"""All settings in one pydantic-settings object, built once by the command that starts a process.

Sources, in order of precedence: keyword arguments, environment (``FOLLOWAUDIT_`` prefix, nested
names joined by ``__``, e.g. ``FOLLOWAUDIT_X__BEARER_TOKEN``), a ``.env`` file, then the defaults
below. Secrets are ``SecretStr``: they never print in logs, reprs or errors.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BlueskySettings(BaseModel):
    base_url: str = "https://public.api.bsky.app"


class MastodonSettings(BaseModel):
    #: Unset: each handle's own instance over https. Set: every Mastodon request goes here.
    base_url: str | None = None


class XSettings(BaseModel):
    base_url: str = "https://api.x.com"
    bearer_token: SecretStr | None = None


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
    sample: SampleSettings = SampleSettings()
    worker: WorkerSettings = WorkerSettings()
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
