"""All settings in one pydantic-settings object, built once by the command that starts a process.

Sources, in order of precedence: keyword arguments, environment (``FOLLOWAUDIT_`` prefix, nested
names joined by ``__``, e.g. ``FOLLOWAUDIT_X__BEARER_TOKEN``), a ``.env`` file, then the defaults
below. Secrets are ``SecretStr``: they never print in logs, reprs or errors.
"""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as SourceParseError

#: The schemes redis-py connects with.
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


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
    #: Bytes of uploads held in Redis at once (waiting for or in an audit); beyond it a new
    #: upload is refused, before it is downloaded when its size is declared.
    max_held_bytes: int = Field(100_000_000, ge=1024)


class SampleSettings(BaseModel):
    default: int = Field(1000, ge=1)
    max: int = Field(5000, ge=1)


class WorkerSettings(BaseModel):
    #: An audit whose heartbeat is older than this is stalled and taken over by a live worker.
    stall_seconds: float = Field(30.0, gt=0)
    concurrency: int = Field(4, ge=1)
    #: Retries of one audit after transient platform errors, backing off exponentially from
    #: ``retry_base_seconds``, within ``audit_deadline_seconds``.
    retries: int = Field(3, ge=0)
    retry_base_seconds: float = Field(1.0, ge=0)
    #: Deliveries of one queue message (takeovers included) before it is failed and dead-lettered.
    max_deliveries: int = Field(5, ge=1)
    #: Graceful shutdown: how long running audits may finish before they are handed back.
    shutdown_grace_seconds: float = Field(20.0, ge=0)
    #: Progress updates to chats at most this often (stage changes always go out).
    progress_interval_seconds: float = Field(0.5, ge=0)
    #: Checkpoints are saved at most this often (each holds the followers read so far).
    checkpoint_interval_seconds: float = Field(1.0, ge=0)
    #: One attempt of an audit running longer than this is answered with a failure.
    audit_timeout_seconds: float = Field(600.0, gt=0)
    #: The whole audit, every attempt and retry wait included, is answered within this; a retry
    #: (or a platform's rate limit) that cannot be waited out before it is answered at once.
    audit_deadline_seconds: float = Field(60.0, gt=0)
    #: ``module:callable`` building the AuditRunner from Settings.
    runner: str = "bot.audit.runner:build_runner"
    #: ``/healthz`` and ``/metrics``; port 0 turns the endpoint off.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(0, ge=0, le=65535)


class RedisSettings(BaseModel):
    """The embedded redis-server (used when ``FOLLOWAUDIT_REDIS_URL`` is unset) and key naming."""

    #: Where the embedded server keeps its append-only file.
    #: Unset: ``$XDG_DATA_HOME/followaudit/redis`` (``~/.local/share/...``).
    data_dir: str | None = None
    binary: str = "redis-server"
    #: Prefix of every key, so several deployments can share one Redis.
    prefix: str = "fa:"

    @field_validator("data_dir", "binary")
    @classmethod
    def _expand(cls, value: str | None) -> str | None:
        """``~`` and ``$VARIABLES`` in paths mean what a shell would make of them."""
        return None if value is None else os.path.expanduser(os.path.expandvars(value))


class PlatformBudget(BaseModel):
    """A platform's API budget, shared by every worker: requests per window, and concurrency."""

    requests: int = Field(3000, ge=1)
    window_seconds: float = Field(300.0, gt=0)
    concurrency: int = Field(8, ge=1)
    #: Set for a platform of many servers (Mastodon): the budget above is kept per server, and at
    #: most this many servers have requests in flight at once. Unset: one budget for the platform.
    hosts: int | None = Field(None, ge=1)


def _default_budgets() -> dict[str, PlatformBudget]:
    return {
        "bluesky": PlatformBudget(requests=3000, window_seconds=300, concurrency=8),
        "mastodon": PlatformBudget(requests=300, window_seconds=300, concurrency=4, hosts=16),
        "x": PlatformBudget(requests=15, window_seconds=900, concurrency=1),
        "upload": PlatformBudget(requests=100000, window_seconds=60, concurrency=16),
    }


class LimitsSettings(BaseModel):
    """Per user and per chat request rates, in-flight cap per user, per-platform API budgets."""

    user_requests: int = Field(10, ge=1)
    user_window_seconds: float = Field(60.0, gt=0)
    chat_requests: int = Field(30, ge=1)
    chat_window_seconds: float = Field(60.0, gt=0)
    user_in_flight: int = Field(3, ge=1)
    platforms: dict[str, PlatformBudget] = Field(default_factory=_default_budgets)


class CacheSettings(BaseModel):
    #: A finished audit answers the same handle and sample for this long.
    ttl_seconds: float = Field(6 * 3600.0, ge=0)


class DeliverySettings(BaseModel):
    #: Safety bound on a chat adapter's delivery stream (entries are deleted once delivered).
    stream_max_len: int = Field(100_000, ge=100)
    #: A delivery held by a dead adapter instance is taken over after this long.
    claim_idle_seconds: float = Field(30.0, gt=0)


class HistorySettings(BaseModel):
    #: Finished reports are kept this long, by platform and handle, then forgotten.
    retention_seconds: float = Field(30 * 86400.0, gt=0)
    max_per_handle: int = Field(50, ge=1)


#: What Telegram accepts as a webhook's ``secret_token``.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class TelegramSettings(BaseModel):
    """The Telegram bot. ``base_url`` is the Bot API server's root: the bot calls
    ``{base_url}/bot{token}/{method}`` and downloads ``{base_url}/file/bot{token}/{path}``."""

    token: SecretStr | None = None
    base_url: str = "https://api.telegram.org"
    #: ``polling`` (getUpdates, the default) or ``webhook`` (Telegram POSTs to webhook_url).
    mode: Literal["polling", "webhook"] = "polling"
    #: The public https address Telegram posts updates to (webhook mode).
    webhook_url: str | None = Field(None, validate_default=True)
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(8443, ge=1, le=65535)
    #: Checked against ``X-Telegram-Bot-Api-Secret-Token`` on every webhook request; required in
    #: webhook mode (anyone who finds the URL could otherwise post updates as any user).
    webhook_secret: SecretStr | None = Field(None, validate_default=True)
    #: getUpdates long-poll timeout.
    poll_timeout_seconds: float = Field(30.0, ge=0)
    #: Largest export downloaded through getFile (the Bot API serves at most 20 MB).
    max_upload_bytes: int = Field(5_000_000, ge=1024, le=20_000_000)
    #: How long the buttons under a report keep working.
    button_ttl_seconds: int = Field(7 * 86400, ge=60)
    #: A progress message is edited at most this often (stage changes and the report always go).
    progress_edit_seconds: float = Field(1.0, ge=0)
    #: Updates handled at once (a flood of users queues beyond this).
    concurrent_updates: int = Field(32, ge=1)

    @field_validator("webhook_url", mode="after")
    @classmethod
    def _webhook_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("expected the https:// address Telegram posts updates to")
        if url is None and info.data.get("mode") == "webhook":
            raise ValueError(
                "webhook mode needs the public https:// address Telegram posts updates to"
            )
        return url

    @field_validator("webhook_secret", mode="after")
    @classmethod
    def _webhook_secret(cls, secret: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if secret is None:
            if info.data.get("mode") == "webhook":
                raise ValueError(
                    "webhook mode needs a secret token, 1 to 256 characters of A-Z, a-z, 0-9, _ "
                    "and - (e.g. from `openssl rand -hex 32`)"
                )
            return None
        if not _WEBHOOK_SECRET.fullmatch(secret.get_secret_value()):
            raise ValueError("expected 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return secret


class DiscordSettings(BaseModel):
    token: SecretStr | None = None
    api_base: str = "https://discord.com/api/v10"
    #: Empty: ask Discord's ``/gateway/bot``.
    gateway_url: str | None = None
    #: Set (development): commands are synced to this one server, at once. Unset: globally.
    dev_guild_id: int | None = None
    #: Seconds READY waits for the servers' GUILD_CREATE events (discord.py's default is 2).
    guild_ready_timeout: float = Field(2.0, ge=0)
    #: Recent audits remembered per server (or DM) for the handle autocomplete.
    recent_audits: int = Field(10, ge=0, le=25)


class AlertSettings(BaseModel):
    """Watched accounts (issue 8): re-audit schedule, limits, alert storms, shared budgets."""

    #: Each watch is re-audited this often; watches are spread over the interval.
    interval_seconds: float = Field(6 * 3600.0, ge=60)
    #: Bounds of the interval a chat may choose with ``/alerts every 12h``.
    min_interval_seconds: float = Field(3600.0, ge=60)
    max_interval_seconds: float = Field(7 * 86400.0, ge=60)
    #: Share of the interval over which watches are spread (deterministic per watch).
    spread: float = Field(1.0, ge=0, le=1)
    #: After an alert, a watch is not re-audited again for at least this long.
    cooldown_seconds: float = Field(3600.0, ge=0)
    #: This many alerts or more for one chat in one run are sent as one digest.
    digest_min: int = Field(4, ge=2)
    #: Percentage points a new fake share must exceed the previous upper bound by.
    default_threshold: float = Field(5.0, gt=0, le=100)
    max_per_chat: int = Field(20, ge=1)
    max_per_server: int = Field(50, ge=1)
    #: Followers read per re-audit (newest first).
    sample: int = Field(1000, ge=30)
    #: How long an account's last sample is remembered so that a re-audit reads only the
    #: followers newer than it (stops paging at a known one); 0 reads the newest in full.
    remember_followers_seconds: float = Field(7 * 86400.0, ge=0)
    #: Audits remembered per watch (the growth trend needs at least 4).
    history: int = Field(10, ge=4, le=100)
    #: Re-audits running at once in one process.
    concurrency: int = Field(2, ge=1)
    #: Re-audits use at most this share of each platform's request rate and concurrency, so
    #: they yield to user audits on the same budgets.
    budget_share: float = Field(0.5, gt=0, le=1)
    #: Member keys of already alerted bursts remembered per watch.
    max_alerted_members: int = Field(5000, ge=100)


class ReviewSettings(BaseModel):
    """Human review of audited followers (issue 18): who may label, how fast, how much is kept."""

    #: Who may label, by chat platform: user ids, e.g. ``{"telegram": ["123"], "discord":
    #: ["456"]}`` (numbers are read as ids). Admins of the chat may label too.
    reviewers: dict[str, list[str]] = Field(default_factory=dict)
    #: Labels one reviewer may give per window.
    rate_labels: int = Field(120, ge=1)
    rate_window_seconds: float = Field(60.0, gt=0)
    #: Reviews kept per audited platform; beyond it a new review is refused (labels are never
    #: dropped silently).
    max_sessions: int = Field(1000, ge=1, le=100_000)
    #: Reviewers of one review.
    max_reviewers: int = Field(20, ge=1, le=1000)

    @field_validator("reviewers", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        """Telegram and Discord ids are numbers; accept them written as numbers."""
        if isinstance(value, dict):
            return {
                str(k).lower(): [str(i) for i in v] if isinstance(v, list) else v
                for k, v in value.items()
            }
        return value

    @field_validator("reviewers", mode="after")
    @classmethod
    def _bounded(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if len(value) > 32 or any(len(ids) > 10_000 for ids in value.values()):
            raise ValueError("at most 32 platforms of at most 10,000 reviewer ids each")
        if any(not i or len(i) > 64 for ids in value.values() for i in ids):
            raise ValueError("reviewer ids are 1 to 64 characters")
        return value


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
    redis: RedisSettings = RedisSettings()
    limits: LimitsSettings = LimitsSettings()
    cache: CacheSettings = CacheSettings()
    delivery: DeliverySettings = DeliverySettings()
    history: HistorySettings = HistorySettings()
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
    alerts: AlertSettings = AlertSettings()
    review: ReviewSettings = ReviewSettings()

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(REDIS_SCHEMES):
            raise ValueError(f"expected a URL starting with {', '.join(REDIS_SCHEMES)}")
        return url


def env_name(loc: tuple[int | str, ...]) -> str:
    """``("sample", "default")`` -> ``FOLLOWAUDIT_SAMPLE__DEFAULT``."""
    config = Settings.model_config
    delimiter = config.get("env_nested_delimiter") or "__"
    return f"{config.get('env_prefix', '')}{delimiter.join(str(p) for p in loc)}".upper()


def invalid_settings(exc: ValidationError | SourceParseError) -> str:
    """One line naming each invalid setting and what is wrong; never the value (a secret?)."""
    if isinstance(exc, ValidationError):
        problems = [f"{env_name(e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                    for e in exc.errors()]  # fmt: skip
    else:  # a nested setting given as JSON that does not parse
        field = re.search(r'field "(\w+)"', str(exc))
        where = env_name((field.group(1),)) if field else "a FOLLOWAUDIT_ setting"
        problems = [f"{where}: not valid JSON ({exc.__cause__ or exc})"]
    return "; ".join(problems)
