"""The review use case (issue 18): draw followers of an audit at random, take each reviewer's
labels, give back the reviewed fake share beside the audit's and the model checked on every
label so far. Chat adapters are thin glue over this: they pass who asks (and whether they admin
the chat), show a ``Step`` and turn a ``ReviewError`` into its one-line ``message``.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass

from bot.review.records import DrawnAccount, LabelRecord, Reviewer, ReviewSession, drawn
from bot.review.store import ReviewStore
from bot.settings import ReviewSettings
from scoring.account import Account
from scoring.review import (
    DEFAULT_DRAW,
    LABELS,
    MAX_DRAW,
    LabelValue,
    ModelCheck,
    ReviewedShare,
    agrees,
    consensus,
    draw,
    model_check,
    reviewed_share,
    seed_of,
)

__all__ = [
    "NOT_ALLOWED",
    "Answered",
    "AuditedSample",
    "LabelledAccount",
    "NotAllowed",
    "RateLimited",
    "ReviewError",
    "ReviewResults",
    "ReviewService",
    "Step",
    "review_id_of",
]

#: What anyone who may not label is told.
NOT_ALLOWED = (
    "Only the bot's reviewers and admins of this chat (or people who manage the server) "
    "can label followers."
)


class ReviewError(Exception):
    """A review request that cannot be done; ``message`` is one line for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(ReviewError):
    def __init__(self) -> None:
        super().__init__(NOT_ALLOWED)


class RateLimited(ReviewError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Too many labels at once; try again in {max(1, round(retry_after))} s.")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class AuditedSample:
    """An audit's scored followers, as the caller has them: what a review draws from."""

    platform: str
    handle: str
    audit_id: str
    model_version: str
    accounts: Sequence[Account]
    probabilities: Sequence[float]
    #: The audit's fake-share estimate and its 95% interval, when it had one.
    fake_share: tuple[float, float, float] | None = None


def review_id_of(platform: str, handle: str, audit_id: str) -> str:
    """One review per audit, shared by its reviewers: the id follows from the audit."""
    key = f"{platform}\x00{handle}\x00{audit_id}".encode()
    return hashlib.sha256(key).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Step:
    """Where a reviewer is in a review: the account to show next, or None when done."""

    session: ReviewSession
    position: int

    @property
    def total(self) -> int:
        return len(self.session.accounts)

    @property
    def done(self) -> bool:
        return self.position >= self.total

    @property
    def item(self) -> DrawnAccount | None:
        return None if self.done else self.session.accounts[self.position]


@dataclass(frozen=True, slots=True)
class Answered:
    """A label taken: the model's probability of that account, now shown, and the next step."""

    index: int
    label: LabelValue
    probability: float
    step: Step


@dataclass(frozen=True, slots=True)
class LabelledAccount:
    """An account with its reviewers' verdict: ``label`` is the consensus (None when reviewers
    disagree); ``score`` the model's probability when it was last labelled."""

    account: Account
    label: LabelValue | None
    score: float
    reviewers: int


@dataclass(frozen=True, slots=True)
class ReviewResults:
    """What a review gives back (see ``bot.review.render``)."""

    session: ReviewSession
    share: ReviewedShare
    #: Accounts that reviewers labelled both fake and genuine (left out of the share).
    disputed: int
    #: Drawn accounts nobody has labelled yet.
    unlabelled: int
    reviewers: int
    #: Whether the reviewed interval overlaps the audit's; None when either is missing.
    agree: bool | None
    #: The model on every label of the audited platform so far.
    check: ModelCheck


@dataclass(eq=False, repr=False)
class ReviewService:
    """One per process; built from settings and a Redis client by whoever starts the process."""

    store: ReviewStore
    settings: ReviewSettings
    _: KW_ONLY
    clock: Callable[[], float] = time.time

    # -- who may label ----------------------------------------------------------------------
    def may_review(self, reviewer: Reviewer, *, is_admin: bool) -> bool:
        """A reviewer named in the settings for their chat platform, or an admin of the chat."""
        return is_admin or reviewer.user_id in self.settings.reviewers.get(reviewer.platform, ())

    def _check(self, reviewer: Reviewer, is_admin: bool) -> None:
        if not self.may_review(reviewer, is_admin=is_admin):
            raise NotAllowed

    # -- a review ---------------------------------------------------------------------------
    async def start(
        self, sample: AuditedSample, reviewer: Reviewer, *, is_admin: bool, n: int = DEFAULT_DRAW
    ) -> Step:
        """Open the review of this audit (drawing ``n`` followers at random the first time) or
        join it, and return where the reviewer resumes."""
        self._check(reviewer, is_admin)
        if not 1 <= n <= MAX_DRAW:
            raise ReviewError(f"A review draws 1 to {MAX_DRAW} followers.")
        if len(sample.accounts) != len(sample.probabilities):
            raise ValueError("one probability per account")
        review_id = review_id_of(sample.platform, sample.handle, sample.audit_id)
        session = await self.store.session(review_id)
        if session is None:
            if not sample.accounts:
                raise ReviewError("That audit has no followers to review.")
            seed = seed_of(review_id)
            picked = draw(len(sample.accounts), n, seed)
            session = ReviewSession(
                review_id=review_id,
                platform=sample.platform,
                handle=sample.handle,
                audit_id=sample.audit_id,
                model_version=sample.model_version,
                created_at=self.clock(),
                sample_size=len(sample.accounts),
                seed=seed,
                accounts=drawn(sample.accounts, sample.probabilities, picked),
                audit_share=sample.fake_share,
            )
            status = await self.store.create(session, max_sessions=self.settings.max_sessions)
            if status == "full":
                raise ReviewError(
                    f"This bot keeps {self.settings.max_sessions:,} reviews of "
                    f"{sample.platform} accounts already; no new review can start."
                )
            if status == "exists":  # another reviewer opened it meanwhile: theirs is the draw
                session = await self.store.session(review_id) or session
        return await self._join(session, reviewer)

    async def resume(self, review_id: str, reviewer: Reviewer, *, is_admin: bool) -> Step:
        """Where the reviewer stands in a review (also what Stop leaves: nothing is lost)."""
        self._check(reviewer, is_admin)
        return await self._join(await self._session(review_id), reviewer)

    async def _session(self, review_id: str) -> ReviewSession:
        session = await self.store.session(review_id)
        if session is None:
            raise ReviewError("That review is no longer available.")
        return session

    async def _join(self, session: ReviewSession, reviewer: Reviewer) -> Step:
        pos = await self.store.join(
            session.review_id, reviewer, max_reviewers=self.settings.max_reviewers
        )
        if pos is None:
            raise ReviewError(f"This review has {self.settings.max_reviewers} reviewers already.")
        return Step(session, min(pos, len(session.accounts)))

    async def answer(
        self,
        review_id: str,
        reviewer: Reviewer,
        index: int,
        label: str,
        *,
        is_admin: bool,
    ) -> Answered:
        """Keep the reviewer's label of the ``index``-th drawn account (replacing an earlier
        one) and move them on; the account's score is revealed in the answer."""
        self._check(reviewer, is_admin)
        if label not in LABELS:
            raise ReviewError(f"A label is one of {', '.join(LABELS)}.")
        session = await self._session(review_id)
        if not 0 <= index < len(session.accounts):
            raise ReviewError("That account is not part of this review.")
        item = session.accounts[index]
        record = LabelRecord(
            review_id=review_id,
            index=index,
            account_key=item.key,
            label=label,
            reviewer=reviewer,
            at=self.clock(),
            audit_id=session.audit_id,
            model_version=session.model_version,
            score=item.probability,
        )
        outcome = await self.store.label(
            record,
            max_reviewers=self.settings.max_reviewers,
            rate_limit=self.settings.rate_labels,
            window_seconds=self.settings.rate_window_seconds,
        )
        if outcome.status == "rate":
            raise RateLimited(outcome.retry_after)
        if outcome.status == "full":
            raise ReviewError(f"This review has {self.settings.max_reviewers} reviewers already.")
        if outcome.status != "ok":
            raise ReviewError("That review is no longer available.")
        position = min(outcome.position, len(session.accounts))
        return Answered(index, record.label, item.probability, Step(session, position))

    # -- what the labels give back ----------------------------------------------------------
    async def latest(self, platform: str, handle: str) -> ReviewSession | None:
        """The handle's latest review (for ``/review HANDLE results``)."""
        review_id = await self.store.latest(platform, handle)
        return None if review_id is None else await self.store.session(review_id)

    async def results(self, review_id: str) -> ReviewResults:
        session = await self._session(review_id)
        records = await self.store.labels(review_id)
        votes: dict[int, list[LabelValue]] = {}
        for r in records:
            votes.setdefault(r.index, []).append(r.label)
        verdicts = [consensus(v) for v in votes.values()]
        share = reviewed_share(v for v in verdicts if v is not None)
        agree = None
        if session.audit_share is not None and share.share is not None:
            agree = agrees((share.low, share.high), session.audit_share[1:])
        return ReviewResults(
            session=session,
            share=share,
            disputed=sum(v is None for v in verdicts),
            unlabelled=len(session.accounts) - len(votes),
            reviewers=len({r.reviewer.key for r in records}),
            agree=agree,
            check=await self.check(session.platform),
        )

    async def check(self, platform: str) -> ModelCheck:
        """The model's AUC and reliability on every account of the platform that reviewers
        agree on (fake or genuine), at the score each had when labelled."""
        decided = [a for a in await self.labelled(platform) if a.label in ("fake", "genuine")]
        return model_check([int(a.label == "fake") for a in decided], [a.score for a in decided])

    async def labelled(self, platform: str | None = None) -> list[LabelledAccount]:
        """Every labelled account (of one audited platform, or all), by platform and id: per
        reviewer their latest label across reviews, then the reviewers' consensus."""
        platforms = [platform] if platform is not None else await self.store.platforms()
        latest: dict[str, dict[str, tuple[LabelRecord, DrawnAccount]]] = {}
        for name in platforms:
            for review_id in await self.store.review_ids(name):
                session = await self.store.session(review_id)
                if session is None:
                    continue
                for r in await self.store.labels(review_id):
                    if r.index >= len(session.accounts):
                        continue
                    item = session.accounts[r.index]
                    mine = latest.setdefault(item.key, {})
                    held = mine.get(r.reviewer.key)
                    if held is None or r.at >= held[0].at:
                        mine[r.reviewer.key] = (r, item)
        out = []
        for key in sorted(latest):
            by_reviewer = latest[key]
            last, item = max(by_reviewer.values(), key=lambda pair: pair[0].at)
            label = consensus(r.label for r, _ in by_reviewer.values())
            out.append(LabelledAccount(item.account, label, last.score, len(by_reviewer)))
        return out
