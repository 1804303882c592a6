"""Turn what a chat user asked for into an ``AuditRequest`` (pure; no chat library)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.handles import ACCEPTED_FORMS, Handle, parse_handle
from bot.pipeline.messages import AuditRequest, ReplyTo
from bot.settings import Settings

__all__ = ["ACCEPTED_FORMS", "UPLOAD_PLATFORM", "audit_request", "handle_for", "sample_for"]

#: The platform name of an uploaded export (it has its own budget in ``limits.platforms``).
UPLOAD_PLATFORM = "upload"


def sample_for(requested: int | None, settings: Settings) -> int:
    """The sample to read: the default when not given, clamped to 1..``sample.max``."""
    if requested is None:
        return settings.sample.default
    return max(1, min(int(requested), settings.sample.max))


def handle_for(text: str, settings: Settings) -> Handle:
    """Parse a user-typed handle with the configured defaults; ``BadHandle`` lists the forms."""
    instance = urlsplit(settings.mastodon.base_url or "").hostname
    return parse_handle(text, settings.default_platform, mastodon_instance=instance)


def audit_request(
    handle: Handle,
    *,
    settings: Settings,
    user: str,
    chat: str,
    reply: ReplyTo,
    sample: int | None = None,
    fresh: bool = False,
    options: dict[str, Any] | None = None,
) -> AuditRequest:
    """The request for ``handle`` (already parsed), or for an upload when ``options`` say so."""
    return AuditRequest(
        user=user,
        chat=chat,
        reply=reply,
        platform=handle.platform,
        handle=handle.handle,
        sample=sample_for(sample, settings),
        fresh=fresh,
        options=dict(options or {}),
    )
