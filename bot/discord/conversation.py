"""The reference to one Discord conversation that travels with a request through Redis.

It names the interaction to answer (application id and interaction token, valid fifteen minutes)
and the channel to post in once the token has expired. It holds no bot secret; an interaction
token is only good for that one interaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["TOKEN_LIFETIME", "Conversation", "ConversationError"]

#: Discord keeps an interaction token valid for fifteen minutes.
TOKEN_LIFETIME = 15 * 60.0


class ConversationError(ValueError):
    """A conversation reference that is not ours or is malformed."""


def _snowflake(obj: dict[str, Any], key: str, *, optional: bool = False) -> int | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise ConversationError(f"{key} must be a snowflake") from None
    if not 0 < number < 1 << 64:
        raise ConversationError(f"{key} must be a snowflake")
    return number


@dataclass(frozen=True, slots=True)
class Conversation:
    application_id: int
    token: str
    channel_id: int
    expires_at: float
    guild_id: int | None = None
    user_id: int | None = None

    def token_alive(self, now: float, margin: float = 10.0) -> bool:
        """Whether a webhook call started now still lands inside the token's lifetime."""
        return now < self.expires_at - margin

    def to_dict(self) -> dict[str, Any]:
        return {
            "application_id": str(self.application_id),
            "token": self.token,
            "channel_id": str(self.channel_id),
            "expires_at": self.expires_at,
            "guild_id": None if self.guild_id is None else str(self.guild_id),
            "user_id": None if self.user_id is None else str(self.user_id),
        }

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Conversation:
        token = obj.get("token")
        if not isinstance(token, str) or not 0 < len(token) <= 500:
            raise ConversationError("token must be a string")
        expires = obj.get("expires_at")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise ConversationError("expires_at must be a number")
        app = _snowflake(obj, "application_id")
        channel = _snowflake(obj, "channel_id")
        assert app is not None and channel is not None
        return cls(
            application_id=app,
            token=token,
            channel_id=channel,
            expires_at=float(expires),
            guild_id=_snowflake(obj, "guild_id", optional=True),
            user_id=_snowflake(obj, "user_id", optional=True),
        )
