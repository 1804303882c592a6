"""The typed errors of the follower sources, each with a short message fit for a chat reply.

Callers catch the level they care about: ``SourceError`` for any of them, ``retryable`` to know
whether trying again later can help (the pipeline retries those within the audit's deadline),
``RateLimited.retry_after`` for when. Messages never contain tokens, headers or raw platform
payloads.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationNeeded",
    "BadHandle",
    "BadUpload",
    "FollowersHidden",
    "NotFound",
    "PlatformUnavailable",
    "RateLimited",
    "SourceError",
    "SuspendedOrPrivate",
    "UnusableAnswer",
]


class SourceError(Exception):
    """Base of every source error; ``str(err)`` is the chat-ready message."""

    #: Whether the same request may succeed later without any change by the user.
    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadHandle(SourceError):
    """The text is not a handle in any accepted form."""


class BadUpload(SourceError):
    """An uploaded export is too large, empty or not in a readable format."""


class NotFound(SourceError):
    """No account with that handle exists on the platform."""


class SuspendedOrPrivate(SourceError):
    """The account exists but is suspended, deactivated, taken down or protected."""


class FollowersHidden(SourceError):
    """The account hides its followers, so there is nothing honest to audit."""


class AuthenticationNeeded(SourceError):
    """The platform needs credentials that are not configured (or were refused)."""


class PlatformUnavailable(SourceError):
    """The platform failed (5xx, timeouts, malformed answers) after bounded retries."""

    retryable = True


class UnusableAnswer(PlatformUnavailable):
    """The platform answered with what no retry fixes: a redirect (never followed), an answer
    too large to read, or JSON of the wrong shape. Answered at once."""

    retryable = False


class RateLimited(SourceError):
    """The platform rations requests; ``retry_after`` is seconds until a retry can succeed."""

    retryable = True

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(0.0, float(retry_after))
