"""The review conversation in chat (issue 18), platform-neutral: ``/review HANDLE [N]``,
``/review HANDLE results``, ``/metrics`` and the Fake / Genuine / Can't tell / Stop buttons.

Adapters parse the words and the button data with this module, call ``ReviewDesk`` with who
asks (and, lazily, whether they admin the chat), and render the typed answer their own way. A
button carries everything a press needs (``rv:<code>:<index>:<review id>[:<group id>]``, at most
52 bytes), so a press keeps working after a restart: the review and every label live in Redis.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

from bot.chat.commands import CommandError, read_handle
from bot.pipeline.samples import SampleStore
from bot.review import (
    AuditedSample,
    NotAllowed,
    Reviewer,
    ReviewError,
    ReviewResults,
    ReviewService,
    Step,
    render_account,
    render_answer,
    render_check,
    render_results,
)
from bot.review.service import Answered
from bot.settings import Settings
from scoring.audit.escape import escape_plain
from scoring.audit.profiles import display_handle, profile_url
from scoring.review import DEFAULT_DRAW, MAX_DRAW, ModelCheck

__all__ = [
    "BUTTONS",
    "REVIEW_EXAMPLE",
    "REVIEW_HELP_LINES",
    "AdminCheck",
    "Card",
    "Press",
    "PressResult",
    "ReviewCommand",
    "ReviewDesk",
    "card_of",
    "metrics_text",
    "parse_press",
    "parse_review_args",
    "press_data",
]

REVIEW_EXAMPLE: Final = "/review bsky:alice.bsky.social 25"
REVIEW_HELP_LINES: Final = (
    f"Review: /review HANDLE [N] labels N (default {DEFAULT_DRAW}, at most {MAX_DRAW}) of the "
    "followers its latest audit sampled, drawn at random; /review HANDLE results; /metrics.",
)
#: Button code -> (caption, label kept); ``s`` is Stop.
BUTTONS: Final[tuple[tuple[str, str], ...]] = (
    ("f", "Fake"),
    ("g", "Genuine"),
    ("u", "Can't tell"),
    ("s", "Stop"),
)
_LABEL_OF: Final = {"f": "fake", "g": "genuine", "u": "unsure"}
_PRESS: Final = re.compile(
    r"rv:(?P<code>[fgus]):(?P<index>\d{1,3}):(?P<review>[0-9a-f]{24})(?::(?P<scope>-\d{1,19}))?"
)
_RESULTS: Final = frozenset({"results", "result", "--results"})

#: Whether the caller admins the chat, asked only when the settings do not name them.
AdminCheck = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class ReviewCommand:
    """``/review HANDLE [N]`` or ``/review HANDLE results``, parsed."""

    platform: str
    handle: str
    n: int = DEFAULT_DRAW
    results: bool = False

    @property
    def label(self) -> str:
        """``bsky:alice.bsky.social``: the form ``/audit`` and ``/review`` accept back."""
        prefix = "bsky" if self.platform == "bluesky" else self.platform
        return f"{prefix}:{self.handle}"


def parse_review_args(words: Sequence[str], settings: Settings) -> ReviewCommand:
    """The words after ``/review``: a handle, then a count (1 to 100) or ``results``."""
    words = [w for w in words if w]
    if not words:
        raise CommandError(f"Give a handle to review, e.g. {REVIEW_EXAMPLE}")
    if len(words) > 2:
        raise CommandError(
            f"Use /review HANDLE [N] or /review HANDLE results, e.g. {REVIEW_EXAMPLE}"
        )
    n, results = DEFAULT_DRAW, False
    if len(words) == 2:
        extra = words[1]
        if extra.lower() in _RESULTS:
            results = True
        elif extra.isdigit() and len(extra) <= 9 and 1 <= int(extra) <= MAX_DRAW:
            n = int(extra)
        else:
            shown = escape_plain(extra, 20)
            raise CommandError(
                f"{shown!r} is not a number of followers from 1 to {MAX_DRAW} nor 'results', "
                f"e.g. {REVIEW_EXAMPLE}"
            )
    handle = read_handle(words[0], settings, REVIEW_EXAMPLE, lambda why: escape_plain(why, 300))
    return ReviewCommand(handle.platform, handle.handle, n, results)


@dataclass(frozen=True, slots=True)
class Press:
    """A review button pressed: a label code (``f``, ``g``, ``u``) or ``s`` (Stop)."""

    code: str
    index: int
    review_id: str
    #: The group the review was asked for, when its card went elsewhere (a Telegram private
    #: chat): whose admins may label is decided there.
    scope: int | None = None

    @property
    def label(self) -> str | None:
        return _LABEL_OF.get(self.code)


def press_data(code: str, review_id: str, index: int, scope: int | None = None) -> str:
    """The button's data (Telegram ``callback_data``, Discord ``custom_id``): at most 52 bytes."""
    tail = "" if scope is None else f":{scope}"
    return f"rv:{code}:{index}:{review_id}{tail}"


def parse_press(data: str | None) -> Press | None:
    """Our review button's data, or None for anything else."""
    match = _PRESS.fullmatch(data or "")
    if match is None:
        return None
    scope = match["scope"]
    return Press(
        match["code"], int(match["index"]), match["review"], None if scope is None else int(scope)
    )


@dataclass(frozen=True, slots=True)
class Card:
    """One drawn account as a reviewer sees it (no score). ``handle`` and ``lines`` are plain
    text already cleaned of control characters and mentions; adapters escape them for their
    markup and link ``handle`` to ``url``."""

    review_id: str
    index: int
    heading: str
    handle: str
    url: str | None
    lines: tuple[str, ...]


def card_of(step: Step) -> Card | None:
    """The card of the account the reviewer is at, None when the review is done."""
    item = step.item
    if item is None:
        return None
    a = item.account
    body = render_account(step).split("\n")[1:]
    return Card(
        review_id=step.session.review_id,
        index=step.position,
        heading=f"{step.position + 1} of {step.total}",
        handle=escape_plain(display_handle(a.platform, a.id, a.handle)),
        url=profile_url(a.platform, a.handle),
        lines=tuple(body),
    )


@dataclass(frozen=True, slots=True)
class PressResult:
    """What a press gives back: the answer line (None for Stop), the next card (None when done
    or stopped) and the results (when done or stopped)."""

    answer: str | None
    card: Card | None
    results: str | None
    stopped: bool = False


class ReviewDesk:
    """The review use case as the chats need it: built once per process (``bot.app``) from the
    review service and the audited samples."""

    def __init__(self, reviews: ReviewService, samples: SampleStore) -> None:
        self.reviews = reviews
        self.samples = samples

    async def _allowed(self, reviewer: Reviewer, admin: AdminCheck) -> bool:
        """Named in the settings (no platform call), else the chat's admins."""
        if self.reviews.may_review(reviewer, is_admin=False):
            return True
        return await admin()

    async def open(self, command: ReviewCommand, reviewer: Reviewer, admin: AdminCheck) -> Card:
        """Start (or join, or resume) the review of the handle's latest audit; the card of the
        reviewer's next account. ``ReviewError`` when refused, no audit, or already labelled."""
        is_admin = await self._allowed(reviewer, admin)
        if not is_admin:
            raise NotAllowed
        sample = await self.samples.latest(command.platform, command.handle)
        if sample is None:
            raise ReviewError(
                f"No audit of {command.label} to review yet: run /audit {command.label} first."
            )
        audited = AuditedSample(
            platform=sample.platform,
            handle=sample.handle,
            audit_id=sample.audit_id,
            model_version=sample.model_version,
            accounts=sample.accounts,
            probabilities=sample.probabilities,
            fake_share=sample.fake_share,
        )
        step = await self.reviews.start(audited, reviewer, is_admin=True, n=command.n)
        card = card_of(step)
        if card is None:
            raise ReviewError(
                f"You have labelled all {step.total} followers of this review; see "
                f"/review {command.label} results."
            )
        return card

    async def results(self, command: ReviewCommand) -> str:
        """The handle's latest review's results, plain text (anyone may read them)."""
        session = await self.reviews.latest(command.platform, command.handle)
        if session is None:
            raise ReviewError(
                f"No review of {command.label} yet; start one with /review {command.label}."
            )
        return render_results(await self.reviews.results(session.review_id))

    async def press(self, press: Press, reviewer: Reviewer, admin: AdminCheck) -> PressResult:
        """Keep the label (and show the score), then the next card or, at the end, the results;
        Stop shows the results so far (the reviewer resumes with ``/review`` or these buttons)."""
        if not await self._allowed(reviewer, admin):
            raise NotAllowed
        if press.label is None:
            step = await self.reviews.resume(press.review_id, reviewer, is_admin=True)
            so_far = await self.reviews.results(press.review_id)
            return PressResult(None, None, _stopped(step, so_far), stopped=True)
        answered: Answered = await self.reviews.answer(
            press.review_id, reviewer, press.index, press.label, is_admin=True
        )
        card = card_of(answered.step)
        results: str | None = None
        if card is None:
            results = render_results(await self.reviews.results(press.review_id))
        return PressResult(render_answer(answered), card, results)

    async def metrics(self) -> str:
        """The model on every platform's labels so far, plain text."""
        platforms = await self.reviews.store.platforms()
        if not platforms:
            return "No labels yet: start a review with " + REVIEW_EXAMPLE
        checks: list[tuple[str, ModelCheck]] = [(p, await self.reviews.check(p)) for p in platforms]
        return metrics_text(checks)


def _stopped(step: Step, results: ReviewResults) -> str:
    s = results.session
    prefix = "bsky" if s.platform == "bluesky" else s.platform
    label = escape_plain(f"{prefix}:{s.handle}")
    head = (
        f"Stopped at {step.position} of {step.total}; /review {label} carries on where you "
        "left off."
    )
    return head + "\n" + render_results(results)


def metrics_text(checks: Sequence[tuple[str, ModelCheck]]) -> str:
    """Per audited platform: AUC and calibration of the model on the reviewers' labels."""
    return "\n".join(render_check(platform, check) for platform, check in checks)
