"""The fake-follower model: boosted oblivious trees read from a versioned JSON artifact.

The model is a small ensemble of specialised classifiers (*members*), each a forest of oblivious
trees over the features of :mod:`scoring.features` (:mod:`scoring.forest`) with a temperature
``t_k`` that puts its logits on a common, calibrated scale. An account's score is::

    sigmoid(a * (max_k t_k * forest_k(x) + sum_j prior_j(x_j)) + b)

the calibrated maximum of the members that speak for the record (as Botometer's ensemble of
specialised classifiers does, so that a kind of fake one member misses but another knows still
scores high; a member's ``scope`` is every record, or only *bare* ones that know nothing beyond
counts, see ``PROFILE_FEATURES``), plus a few
fixed additive priors for fields no labelled data has (``declared_bot``), then a calibration
map ``(a, b)`` fitted on out-of-sample predictions. Each account's logit is split exactly into
per-feature contributions of the member that decides it (Shapley values against the record
with nothing known, so an unknown feature contributes 0, scaled by the member's temperature);
they add up to the logit minus that member's baseline, so the reasons, the largest of them,
cannot disagree with the probability.

Inference needs numpy only; the artifact is validated in full before anything is built from it.

``Model.validation`` (written by ``scoring.train``) holds out-of-sample figures only::

    {"cv":   {"pooled": M, "collections": {name: M, ...}},   # stratified 5-fold, all data
     "loco": {"pooled": M, "collections": {name: M, ...}},   # each collection held out
     "counts_only": {"cv": {...}, "loco": {...}},            # same, only counts known
     "reliability": {"cv": [...], "loco": [...]},            # 10 bins: n, mean_p, observed
     "histogram_edges": [p, ...],                           # interior bin edges
     "views": {name: {"known": {feature: rate}, "cv": {...}, "loco": {...}}, ...},
                                                            # as each platform returns records
     "cresci_2015_cv": M, "cresci_2015_cv_in_domain": M, "description": str, ...}

where each M is ``{"n_pos", "n_neg", "auc", "accuracy", "brier", "tpr", "fpr", "mean_p_pos",
"mean_p_neg", "hist_pos", "hist_neg"}`` (rates at p >= 0.5; histograms: fractions of each
class in the bins cut at ``histogram_edges``, or 20 equal bins of p without it) and a
collection's name is its ``source`` up to the first ``/`` (``cresci-2015``, ``cresci-2017``,
``instafake``, ``twitter-human-bots-kaggle-2020``).
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from scoring.account import Account
from scoring.features import FEATURE_NAMES, extract_columns, known_fractions
from scoring.forest import MAX_DEPTH, Forest, Leaves, Split
from scoring.histogram import LEGACY_EDGES, read_edges
from scoring.views import FULL, seen_as

__all__ = [
    "FORMAT_VERSION",
    "PROFILE_FEATURES",
    "REASON_LABELS",
    "SUPPORTED_FORMAT_VERSIONS",
    "Member",
    "Model",
    "ModelError",
    "ScoredAccount",
    "ScoredBatch",
    "Term",
    "Verdict",
    "bare",
    "combine",
    "load_model",
    "speaks",
]

FloatArray = npt.NDArray[np.float64]

FORMAT_VERSION: Final = 4
#: 2: one forest (read as a single member "all" with temperature 1); 3: members combined;
#: 4: members with a scope (3's members all speak for every record).
SUPPORTED_FORMAT_VERSIONS: Final = frozenset({2, 3, 4})
KIND: Final = "oblivious-trees"
#: How the members' tempered logits are combined: their maximum over the members whose scope
#: holds the record.
COMBINE: Final = "max"
#: A member's scope: every record, or only bare ones (nothing known beyond counts).
SCOPES: Final = ("any", "bare")
#: What a profile carries beyond counts: a record that knows none of these is *bare* (a count
#: export, or nothing at all). A record with a handle is read as a profile (no bio there is an
#: empty bio, ``scoring.features``), so it is never bare.
PROFILE_FEATURES: Final = (
    "log_age_days",
    "default_avatar",
    "has_banner",
    "verified",
    "declared_bot",
    "bio_length",
    "has_url",
    "has_location",
    "name_handle_mismatch",
)
_PROFILE_COLUMNS: Final = np.array([FEATURE_NAMES.index(f) for f in PROFILE_FEATURES])
_MAX_MEMBERS: Final = 8
DEFAULT_PATH: Final = Path(__file__).parent / "data" / "model.json"
#: A term must add at least this much to the logit to be named as a reason.
MIN_REASON_LOGIT: Final = 0.2
#: Reasons explain why an account looks fake, so only accounts scored at least this are given any.
MIN_REASON_PROBABILITY: Final = 0.5
_MAX_KNOTS: Final = 256
_MAX_TREES: Final = 5000
_MAX_SPLITS: Final = 50_000
_MAX_ARTIFACT_BYTES: Final = 20_000_000

#: feature -> (stable reason code, short label for counting across a sample).
REASON_CODES: Final[Mapping[str, tuple[str, str]]] = {
    "log_followers": ("few_followers", "few followers"),
    "log_following": ("mass_following", "follows very many accounts"),
    "follow_ratio": ("follow_ratio", "lopsided follow ratio"),
    "lopsided_following": ("mass_following_unreturned", "follows many, followed by few"),
    "log_posts": ("few_posts", "few or no posts"),
    "log_likes": ("few_likes", "few or no likes"),
    "log_listed": ("not_listed", "on no lists"),
    "log_age_days": ("account_age", "new account"),
    "posts_per_day": ("posting_rate", "unusual posting rate"),
    "likes_per_day": ("like_rate", "unusual liking rate"),
    "following_per_day": ("follow_rate", "follows accounts fast"),
    "default_avatar": ("default_avatar", "default avatar"),
    "has_banner": ("no_banner", "no banner image"),
    "verified": ("not_verified", "not verified"),
    "declared_bot": ("declared_bot", "declares itself a bot"),
    "bio_length": ("bio", "empty or odd bio"),
    "has_url": ("no_url", "no link in profile"),
    "has_location": ("no_location", "no location"),
    "handle_length": ("handle_length", "unusual handle length"),
    "handle_digits": ("handle_digits", "digits in handle"),
    "handle_trailing_digits": ("handle_number_suffix", "handle ends in digits"),
    "name_handle_mismatch": ("name_mismatch", "name unlike handle"),
}
REASON_LABELS: Final[dict[str, str]] = {code: label for code, label in REASON_CODES.values()}


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch builds many small acyclic objects.

    Creating 100,000 verdicts otherwise triggers full collections that walk every live object
    (the accounts included), which costs more than the scoring itself.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


FULL_VIEW: Final = FULL.name


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0))), dtype=np.float64)


class ModelError(Exception):
    """The model artifact is missing, malformed or of an unsupported format version."""


@dataclass(frozen=True, slots=True)
class ScoredAccount:
    """One account's calibrated fake probability and the reasons that drove it: what a
    ``Verdict`` says and the audit's ``SuspiciousAccount`` shows."""

    platform: str
    id: str
    handle: str | None
    fake_probability: float
    reasons: tuple[str, ...]
    reason_codes: tuple[str, ...]


@dataclass(slots=True)
class Verdict:
    """One account's verdict, as ``Model.score`` gives it: the fields of ``ScoredAccount``.

    Read-only by convention, not ``frozen``: a frozen dataclass sets each field through
    ``object.__setattr__``, which made building one verdict per scored account three times as
    slow (a tenth of ``Model.score``'s time on 100,000 accounts)."""

    platform: str
    id: str
    handle: str | None
    fake_probability: float
    reasons: tuple[str, ...]
    reason_codes: tuple[str, ...]

    def to_dict(self, model_version: str) -> dict[str, Any]:
        """The ``followaudit score`` output object."""
        return {
            "platform": self.platform,
            "id": self.id,
            "handle": self.handle,
            "fake_probability": self.fake_probability,
            "reasons": list(self.reasons),
            "model_version": model_version,
        }


@dataclass
class ScoredBatch:
    """Probabilities as one array and one verdict per account, both in input order, and how
    often each feature was known among them (the audit picks its validation view by it)."""

    probabilities: FloatArray
    verdicts: list[Verdict]
    known: dict[str, float] = field(default_factory=dict)
    #: Computes the audit member's probabilities of the records as the named view returns
    #: them (None: as they are), when first asked; None: the audit reads ``probabilities``.
    audit_source: Callable[[str | None], FloatArray | None] | None = field(
        default=None, repr=False, compare=False
    )
    _by_view: dict[str, FloatArray | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @cached_property
    def audit_probabilities(self) -> FloatArray | None:
        """The audit member's calibrated probabilities, which the share estimate reads against
        ``Model.audit_validation`` (None: the audit reads ``probabilities``)."""
        return None if self.audit_source is None else self.audit_source(None)

    def audit_probabilities_as(self, view: str | None) -> FloatArray | None:
        """The audit member's probabilities of these records as ``view`` (``scoring.views``)
        returns them: what that view's validation histograms were made of. A sample whose
        records carry more than the view it is read against (an Instagram export beside the
        ``counts`` view) is scored on the view's fields only, so that its scores and the
        histograms describe the same records. ``full`` or None: the records as they are."""
        if view is None or view == FULL_VIEW or self.audit_source is None:
            return self.audit_probabilities
        if view not in self._by_view:
            self._by_view[view] = self.audit_source(view)
        return self._by_view[view]


@dataclass(frozen=True, slots=True)
class _Kept:
    """One member's leaves from a scoring pass, for the rows it was scored on (None: all)."""

    rows: npt.NDArray[np.bool_] | None
    leaves: Leaves | None


@dataclass(frozen=True)
class Term:
    """A fixed additive prior on one feature: values at knots, linear between, constant
    outside; 0 when the feature is unknown."""

    feature: str
    knots: FloatArray
    values: FloatArray

    @property
    def active(self) -> bool:
        """False when the shape is flat zero (the feature taught the model nothing)."""
        return bool(np.any(self.values != 0.0))

    def evaluate(self, x: FloatArray) -> FloatArray:
        """Contribution to the logit for each value of the feature (NaN -> 0)."""
        out = np.interp(x, self.knots, self.values)
        return np.where(np.isnan(x), 0.0, out)


@dataclass(frozen=True)
class Member:
    """One classifier of the ensemble: its trees, the temperature that scales its logits and
    the records it speaks for (``scope``: ``"any"``, or ``"bare"`` records only)."""

    name: str
    forest: Forest
    temperature: float = 1.0
    scope: str = "any"


def bare(features: FloatArray) -> npt.NDArray[np.bool_]:
    """Which rows are bare: no feature of ``PROFILE_FEATURES`` known (counts at most)."""
    return np.asarray(np.isnan(features[:, _PROFILE_COLUMNS]).all(axis=1), dtype=np.bool_)


def speaks(scopes: Sequence[str], features: FloatArray) -> npt.NDArray[np.bool_] | None:
    """Whether each member's scope holds each row, shape (members, n); None when every member
    speaks for every row."""
    if all(s == "any" for s in scopes):
        return None
    rows = bare(features)
    return np.asarray([np.ones_like(rows) if s == "any" else rows for s in scopes])


def combine(z: FloatArray, mask: npt.NDArray[np.bool_] | None) -> npt.NDArray[np.intp]:
    """The member deciding each column of tempered logits ``z`` (members, n): the largest among
    those that speak for it (``mask``, see :func:`speaks`), the first of equal maxima."""
    held = z if mask is None else np.where(mask, z, -np.inf)
    return np.asarray(np.argmax(held, axis=0), dtype=np.intp)


# ---------------------------------------------------------------------------------------------
# Reason texts: each uses the account's own values, so a reader can check it against the profile.


def _num(x: float) -> str:
    return f"{round(x):,}" if math.isfinite(x) else "an unknown number of"


def _plural(n: float, one: str, many: str | None = None) -> str:
    if not math.isfinite(n):
        return f"an unknown number of {many or one + 's'}"
    k = round(n)
    return f"{k:,} {one if k == 1 else (many or one + 's')}"


def _age(days: float) -> str:
    if not math.isfinite(days):
        return "unknown age"
    if days < 1:
        return "less than a day"
    if days < 60:
        return _plural(days, "day")
    if days < 730:
        return _plural(days / 30.44, "month")
    return _plural(days / 365.25, "year")


def _rate(count: float, days: float, what: str, one: str) -> str:
    if count == 0:
        return f"no {what} in an account {_age(days)} old"
    per_day = count / max(days, 1.0) if math.isfinite(days) else math.nan
    if per_day >= 1:
        return f"{per_day:,.0f} {what} a day over {_age(days)}"
    return f"{_plural(count, one, what)} in {_age(days)}"


def _few(count: float, days: float, one: str, many: str, verb: str = "") -> str:
    """'no posts in an account 2 years old', 'only 12 posts', '1,200 posts'."""
    if count == 0:
        return f"no {many}{verb} in an account {_age(days)} old" if days >= 1 else f"no {many}"
    text = _plural(count, one, many) + verb
    return f"only {text}" if count < 100 else text


# Row layout: Columns.matrix() -> followers, following, posts, likes, listed, age_days,
# bio_chars, handle_chars, handle_digits, handle_trailing.
_Row = Sequence[float]
_TEXTS: Final[Mapping[str, Callable[[_Row, float], str]]] = {
    "follow_ratio": lambda r, x: f"following {_num(r[1])}, followed by {_num(r[0])}",
    "log_followers": lambda r, x: (
        "no followers"
        if r[0] == 0
        else f"only {_plural(r[0], 'follower')}"
        if r[0] < 100
        else _plural(r[0], "follower")
    ),
    "log_following": lambda r, x: f"following {_plural(r[1], 'account')}",
    "lopsided_following": lambda r, x: f"following {_num(r[1])}, followed by {_num(r[0])}",
    "log_posts": lambda r, x: _few(r[2], r[5], "post", "posts"),
    "log_likes": lambda r, x: _few(r[3], r[5], "like", "likes", " given"),
    "log_listed": lambda r, x: "on no lists" if r[4] == 0 else f"on {_plural(r[4], 'list')}",
    "log_age_days": lambda r, x: f"account {_age(r[5])} old",
    "posts_per_day": lambda r, x: _rate(r[2], r[5], "posts", "post"),
    "likes_per_day": lambda r, x: _rate(r[3], r[5], "likes", "like"),
    "following_per_day": lambda r, x: f"followed {_plural(r[1], 'account')} in {_age(r[5])}",
    "default_avatar": lambda r, x: "default avatar" if x >= 0.5 else "custom avatar",
    "has_banner": lambda r, x: "no banner image" if x < 0.5 else "has a banner image",
    "verified": lambda r, x: "not verified" if x < 0.5 else "verified",
    "declared_bot": lambda r, x: "says it is a bot" if x >= 0.5 else "does not say it is a bot",
    "bio_length": lambda r, x: "no bio" if r[6] == 0 else f"bio of {_plural(r[6], 'character')}",
    "has_url": lambda r, x: "no link in profile" if x < 0.5 else "has a link in profile",
    "has_location": lambda r, x: "no location" if x < 0.5 else "has a location",
    "handle_length": lambda r, x: f"handle {_plural(r[7], 'character')} long",
    "handle_digits": lambda r, x: (
        f"handle ends in {_plural(r[8], 'digit')}"
        if r[9] == r[8] and r[8] > 0
        else f"handle contains {_plural(r[8], 'digit')}"
    ),
    "handle_trailing_digits": lambda r, x: f"handle ends in {_plural(r[9], 'digit')}",
    "name_handle_mismatch": lambda r, x: (
        "display name unlike the handle" if x >= 0.5 else "display name like the handle"
    ),
}


def reason_text(feature: str, row: _Row, x: float) -> str:
    """Human text for one term: ``row`` is the account's ``Columns.matrix()`` row and ``x`` the
    feature's value."""
    return _TEXTS[feature](row, x)


# ---------------------------------------------------------------------------------------------


class Model:
    """A loaded, validated model: probabilities, contributions and reasons for accounts."""

    def __init__(
        self,
        *,
        version: str,
        members: Sequence[Member],
        terms: Sequence[Term] = (),
        calibration: tuple[float, float],
        validation: Mapping[str, Any] | None = None,
        training: Mapping[str, Any] | None = None,
        hyperparameters: Mapping[str, Any] | None = None,
        audit_member: str | None = None,
    ) -> None:
        if not members:
            raise ValueError("a model needs at least one member")
        names = [m.name for m in members]
        if any(m.scope not in SCOPES for m in members):
            raise ValueError(f"a member's scope must be one of {SCOPES}")
        if all(m.scope != "any" for m in members):
            raise ValueError("at least one member must speak for every record (scope 'any')")
        self._scopes = tuple(m.scope for m in members)
        if audit_member is not None and audit_member not in names:
            raise ValueError(f"audit member {audit_member!r} is not a member")
        #: The member whose scores the audit's share estimate reads (None: the ensemble's).
        self.audit_member = audit_member
        self._audit_index = None if audit_member is None else names.index(audit_member)
        self.version = version
        self.members: tuple[Member, ...] = tuple(members)
        self.terms: tuple[Term, ...] = tuple(terms)
        self.calibration = (float(calibration[0]), float(calibration[1]))
        self.validation: dict[str, Any] = dict(validation or {})
        self.training: dict[str, Any] = dict(training or {})
        self.hyperparameters: dict[str, Any] = dict(hyperparameters or {})
        self.reason_labels: dict[str, str] = dict(REASON_LABELS)
        self._columns = [FEATURE_NAMES.index(t.feature) for t in self.terms]
        self._baselines = np.array([m.temperature * m.forest.intercept for m in self.members])
        # Each member is scored by its own forest with the temperature folded into its leaves,
        # so that a member is only scored for the rows it is needed for (its scope, the audit).
        self._scorers: tuple[Forest, ...] = ()
        if len(self.members) > 1:
            if any(not m.forest.trees for m in self.members):
                raise ValueError("every member of an ensemble needs at least one tree")
            self._scorers = tuple(m.forest.scaled(m.temperature) for m in self.members)
        #: The raw logit of a record with nothing known (priors add 0 there).
        self.intercept = float(self._baselines.max())

    @property
    def audit_validation(self) -> dict[str, Any]:
        """The validation the audit's share estimate reads: the audit member's histograms
        (``validation["audit"]``) when the model names one, else the model's own."""
        block = self.validation.get("audit") if self.audit_member is not None else None
        return block if isinstance(block, dict) else self.validation

    # -- numbers ----------------------------------------------------------------------------

    def _prior_terms(self, features: FloatArray) -> list[tuple[int, FloatArray]]:
        return [
            (col, term.evaluate(features[:, col]))
            for term, col in zip(self.terms, self._columns, strict=True)
            if term.active
        ]

    def member_logits(self, features: FloatArray) -> FloatArray:
        """Each member's tempered logit (forest only, no priors), shape (members, n)."""
        if not self._scorers:
            only = self.members[0]
            return np.asarray([only.temperature * only.forest.raw(features)], dtype=np.float64)
        return np.asarray([f.raw(features) for f in self._scorers], dtype=np.float64)

    def _member_logits_where(
        self, features: FloatArray, need: Sequence[npt.NDArray[np.bool_] | None], *, keep: bool
    ) -> tuple[FloatArray, list[_Kept]]:
        """Like :meth:`member_logits`, but member ``k`` only on the rows ``need[k]`` (None:
        every row), -inf on the others; with ``keep``, each member's leaves for those rows."""
        z = np.full((len(self._scorers), features.shape[0]), -np.inf)
        kept: list[_Kept] = []
        for k, (forest, rows) in enumerate(zip(self._scorers, need, strict=True)):
            if rows is None:
                z[k], leaves = forest.raw_and_leaves(features, keep=keep)
            elif rows.any():
                z[k, rows], leaves = forest.raw_and_leaves(features[rows], keep=keep)
            else:
                leaves = None
            kept.append(_Kept(rows, leaves if keep else None))
        return z, kept

    def prior_logits(self, features: FloatArray) -> FloatArray:
        """The fixed priors' part of the raw logit, shape (n,)."""
        out = np.zeros(features.shape[0])
        for _, values in self._prior_terms(features):
            out += values
        return out

    def _scores(
        self, features: FloatArray, *, audit: bool = False, keep: bool = False
    ) -> tuple[FloatArray, npt.NDArray[np.intp], FloatArray | None, list[_Kept]]:
        """Raw logits, the member deciding each (:func:`combine`), with ``audit`` the audit
        member's probabilities (None when the model names no audit member), and with ``keep``
        each member's leaves (for :meth:`_explain`; empty for a single forest)."""
        prior = self.prior_logits(features)
        kept: list[_Kept] = []
        if not self._scorers:
            only = self.members[0]
            raw = only.forest.raw(features)
            if only.temperature != 1.0:
                raw *= only.temperature
            raw += prior
            winners = np.zeros(features.shape[0], dtype=np.intp)
            tempered = raw  # the one member's tempered logit, priors included
        else:
            mask = speaks(self._scopes, features)
            i = self._audit_index if audit else None
            need = [
                None if mask is None or k == i or mask[k].all() else mask[k]
                for k in range(len(self._scorers))
            ]
            z, kept = self._member_logits_where(features, need, keep=keep)
            winners = combine(z, mask)
            raw = np.take_along_axis(z, winners[None, :], axis=0)[0] + prior
            tempered = z[i] + prior if i is not None else raw
        if not audit or self._audit_index is None:
            return raw, winners, None, kept
        return raw, winners, _sigmoid(tempered), kept

    def _explain(
        self,
        chosen: FloatArray,
        rows: npt.NDArray[np.intp],
        winners: npt.NDArray[np.intp],
        kept: Sequence[_Kept],
    ) -> FloatArray:
        """``contributions_from_features(chosen, winners[rows])`` for the rows ``rows`` of a
        batch (``chosen``: their features), reading the leaves the batch's scoring pass kept
        (``_scores(keep=True)``) instead of answering the questions again."""
        if not kept:
            return self.contributions_from_features(chosen, winners[rows])
        won = winners[rows]
        out = np.zeros((rows.size, len(FEATURE_NAMES)))
        for k, (member, part) in enumerate(zip(self.members, kept, strict=True)):
            pick = np.flatnonzero(won == k)
            if not pick.size:
                continue
            if part.leaves is None:
                raise ValueError("the scoring pass kept no leaves for a deciding member")
            at = rows[pick]
            if part.rows is not None:  # leaves of the member's rows only, in order
                at = (np.cumsum(part.rows) - 1)[at]
            found = member.forest.contributions(chosen[pick], part.leaves[:, at])
            out[pick] = member.temperature * found
        for col, values in self._prior_terms(chosen):
            out[:, col] += values
        return out

    def audit_from_features(self, features: FloatArray) -> FloatArray | None:
        """The audit member's calibrated probabilities (None when the model names none)."""
        if self._audit_index is None:
            return None
        if not self._scorers:
            return self._scores(features, audit=True)[2]
        scorer = self._scorers[self._audit_index]
        return _sigmoid(scorer.raw(features) + self.prior_logits(features))

    def _audit_as(
        self, accounts: Sequence[Account], features: FloatArray, view: str | None
    ) -> FloatArray | None:
        """``audit_from_features`` of the records as ``view`` returns them (``features``: the
        records' own, used as they are for ``full`` or None)."""
        if view is None or view == FULL_VIEW:
            return self.audit_from_features(features)
        return self.audit_from_features(extract_columns(seen_as(accounts, view))[1])

    def raw_from_features(self, features: FloatArray) -> FloatArray:
        """Raw (uncalibrated) logits of a feature matrix."""
        return self._scores(features)[0]

    def winners_from_features(self, features: FloatArray) -> npt.NDArray[np.intp]:
        """The index of the member that decides each row's score."""
        return self._scores(features)[1]

    def baselines_from_features(self, features: FloatArray) -> FloatArray:
        """Each row's baseline: the logit of the record with nothing known, as the member that
        decides the row reads it (the contributions add up to the logit minus it)."""
        return np.asarray(self._baselines[self.winners_from_features(features)], dtype=np.float64)

    def contributions_from_features(
        self, features: FloatArray, winners: npt.NDArray[np.intp] | None = None
    ) -> FloatArray:
        """Per-feature logit contributions, shape (n, len(FEATURE_NAMES)), columns in the order
        of ``FEATURE_NAMES``: the deciding member's (``winners``, computed when not given),
        scaled by its temperature, plus the priors. Each row sums to the logit minus the row's
        baseline, and an unknown feature contributes exactly 0."""
        if len(self.members) == 1:
            only = self.members[0]
            out = only.forest.contributions(features)
            if only.temperature != 1.0:
                out *= only.temperature
        else:
            won = self.winners_from_features(features) if winners is None else winners
            out = np.zeros((features.shape[0], len(FEATURE_NAMES)))
            for k, member in enumerate(self.members):
                rows = np.flatnonzero(won == k)
                if rows.size:
                    out[rows] = member.temperature * member.forest.contributions(features[rows])
        for col, values in self._prior_terms(features):
            out[:, col] += values
        return out

    def calibrate(self, logits: FloatArray) -> FloatArray:
        """Calibrated probabilities from raw logits (the Platt map), finite and in [0, 1]."""
        a, b = self.calibration
        z = np.clip(a * logits + b, -500.0, 500.0)
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def logits(self, accounts: Sequence[Account]) -> FloatArray:
        """Raw (uncalibrated) logits: intercept plus the sum of the contributions."""
        _, features = extract_columns(accounts)
        return self.raw_from_features(features)

    def contributions(self, accounts: Sequence[Account]) -> FloatArray:
        """Per-feature contributions for ``accounts``, columns in the order of FEATURE_NAMES."""
        _, features = extract_columns(accounts)
        return self.contributions_from_features(features)

    def baselines(self, accounts: Sequence[Account]) -> FloatArray:
        """Each account's baseline (see ``baselines_from_features``)."""
        _, features = extract_columns(accounts)
        return self.baselines_from_features(features)

    def predict_proba(self, accounts: Sequence[Account]) -> FloatArray:
        """Calibrated fake probability of each account, shape (n,)."""
        with _gc_paused():
            return self.calibrate(self.logits(accounts))

    def predict_audit(self, accounts: Sequence[Account]) -> FloatArray:
        """The probabilities the audit's share estimate reads (see ``audit_validation``)."""
        _, features = extract_columns(accounts)
        raw, _, audit, _ = self._scores(features, audit=True)
        return self.calibrate(raw) if audit is None else audit

    # -- verdicts ---------------------------------------------------------------------------

    def score(self, accounts: Sequence[Account], *, max_reasons: int = 3) -> ScoredBatch:
        """Probabilities and verdicts with up to ``max_reasons`` fake-pointing reasons each.

        Reasons are the features that added most to the account's logit (at least
        ``MIN_REASON_LOGIT`` each), given only to accounts scored ``MIN_REASON_PROBABILITY`` or
        more: the model's own contributions, so they cannot disagree with the score.
        """
        with _gc_paused():
            return self._score(accounts, max_reasons)

    def _score(self, accounts: Sequence[Account], max_reasons: int) -> ScoredBatch:
        cols, features = extract_columns(accounts)
        raw, winners, _, kept = self._scores(features, keep=True)
        probs = self.calibrate(raw)
        n = len(accounts)
        texts: list[tuple[str, ...]] = [()] * n
        kinds: list[tuple[str, ...]] = [()] * n
        k = max(0, min(int(max_reasons), len(FEATURE_NAMES)))
        rows = np.flatnonzero(probs >= MIN_REASON_PROBABILITY) if k else np.empty(0, np.intp)
        if rows.size:
            chosen = features[rows]
            sub = self._explain(chosen, rows, winners, kept)
            # One spare column: two features can word the same fact ("following 900, followed
            # by 4"); the text is given once.
            top = np.argsort(-sub, axis=1, kind="stable")[:, : k + 1]
            # how many of each row's top columns are strong enough (sorted: they lead)
            strong = (np.take_along_axis(sub, top, axis=1) >= MIN_REASON_LOGIT).sum(axis=1)
            top_features = top.tolist()
            xs = np.take_along_axis(chosen, top, axis=1).tolist()
            raw = cols.matrix()[rows].tolist()
            codes = [REASON_CODES[f][0] for f in FEATURE_NAMES]
            fmt = [_TEXTS[f] for f in FEATURE_NAMES]
            for i, row, x_r, features_r, n_strong in zip(
                rows.tolist(), raw, xs, top_features, strong.tolist(), strict=True
            ):
                text_i: list[str] = []
                kind_i: list[str] = []
                for j in range(n_strong):
                    f = features_r[j]
                    text = fmt[f](row, x_r[j])
                    if text not in text_i:
                        text_i.append(text)
                        kind_i.append(codes[f])
                        if len(text_i) == k:
                            break
                texts[i] = tuple(text_i)
                kinds[i] = tuple(kind_i)
        verdicts = [
            Verdict(a.platform, a.id, a.handle, p, t, c)
            for a, p, t, c in zip(accounts, probs.tolist(), texts, kinds, strict=True)
        ]
        return ScoredBatch(
            probabilities=probs,
            verdicts=verdicts,
            known=known_fractions(features),
            audit_source=None
            if self._audit_index is None
            else partial(self._audit_as, accounts, features),
        )

    # -- artifact ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The artifact as JSON-ready data (see :func:`model_from_dict`)."""
        return {
            "format_version": FORMAT_VERSION,
            "model_version": self.version,
            "kind": KIND,
            "description": (
                "p = sigmoid(a * (max over the members whose scope holds the record of "
                "temperature * (bias + sum of tree leaves) + sum of priors) + b). A member of "
                "scope 'bare' speaks only for records that know none of "
                f"{', '.join(PROFILE_FEATURES)}; one of scope 'any' for every record. Each "
                "tree asks one question per level (is features[feature] > threshold? unknown "
                "goes to 'unknown'); its leaf is numbered by the answers, bit k = level k "
                "(1 = yes). A prior interpolates its values between its knots and is 0 when "
                "unknown."
            ),
            "calibration": {"method": "platt", "a": self.calibration[0], "b": self.calibration[1]},
            "features": list(FEATURE_NAMES),
            "combine": COMBINE,
            "audit_member": self.audit_member,
            "members": [
                {
                    "name": m.name,
                    "temperature": m.temperature,
                    "scope": m.scope,
                    "forest": _forest_dict(m.forest),
                }
                for m in self.members
            ],
            "terms": [
                {
                    "feature": t.feature,
                    "knots": t.knots.tolist(),
                    "values": t.values.tolist(),
                }
                for t in self.terms
            ],
            "hyperparameters": self.hyperparameters,
            "training": self.training,
            "validation": self.validation,
        }

    def to_json(self) -> str:
        """Deterministic, human-readable JSON text of the artifact."""
        return json.dumps(self.to_dict(), indent=1, sort_keys=False, ensure_ascii=True) + "\n"


def _forest_dict(forest: Forest) -> dict[str, Any]:
    return {
        "bias": forest.bias,
        "splits": [
            {
                "feature": FEATURE_NAMES[sp.feature],
                "threshold": sp.threshold,
                "unknown": "yes" if sp.missing_right else "no",
            }
            for sp in forest.splits
        ],
        "trees": [{"splits": list(ids), "values": values.tolist()} for ids, values in forest.trees],
    }


# ---------------------------------------------------------------------------------------------
# Loading and validation


def _need(cond: bool, message: str) -> None:
    if not cond:
        raise ModelError(message)


def _finite(value: object, where: str) -> float:
    _need(
        isinstance(value, int | float) and not isinstance(value, bool),
        f"{where}: expected a number, got {type(value).__name__}",
    )
    number = float(value)  # type: ignore[arg-type]
    _need(math.isfinite(number), f"{where}: not a finite number")
    return number


def _number_list(value: object, where: str) -> FloatArray:
    _need(isinstance(value, list), f"{where}: expected a list of numbers")
    assert isinstance(value, list)
    _need(2 <= len(value) <= _MAX_KNOTS, f"{where}: expected 2..{_MAX_KNOTS} numbers")
    return np.array([_finite(v, f"{where}[{i}]") for i, v in enumerate(value)], dtype=np.float64)


_METRIC_NUMBERS: Final = (
    "auc",
    "accuracy",
    "brier",
    "tpr",
    "fpr",
    "mean_p_pos",
    "mean_p_neg",
)


def _check_metrics(m: object, where: str, bins: int) -> None:
    """One block of validation figures, as the audit reads them (histograms of ``bins``)."""
    _need(isinstance(m, dict), f"{where}: expected an object")
    assert isinstance(m, dict)
    for key in ("n_pos", "n_neg"):
        v = m.get(key)
        _need(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0,
            f"{where}.{key}: expected a count",
        )
    for key in _METRIC_NUMBERS:
        v = m.get(key)
        if v is not None:
            _need(0.0 <= _finite(v, f"{where}.{key}") <= 1.0, f"{where}.{key}: not in [0, 1]")
    for key in ("hist_pos", "hist_neg"):
        h = m.get(key)
        _need(isinstance(h, list) and len(h) == bins, f"{where}.{key}: expected {bins} numbers")
        assert isinstance(h, list)
        for i, v in enumerate(h):
            _need(0.0 <= _finite(v, f"{where}.{key}[{i}]") <= 1.0, f"{where}.{key}: not in [0, 1]")


def _check_validation(v: object, at: str = "validation") -> None:
    """The metric blocks of ``validation`` (cv, loco, counts_only, views) when present, their
    histograms cut at ``histogram_edges`` (20 equal bins of p when it is absent)."""
    assert isinstance(v, dict)
    edges = LEGACY_EDGES
    if "histogram_edges" in v:
        read = read_edges(v["histogram_edges"])
        _need(read is not None, f"{at}.histogram_edges: expected rising numbers in (0, 1)")
        assert read is not None
        edges = read
    blocks: list[tuple[str, object]] = [
        (f"{at}.cv", v.get("cv")),
        (f"{at}.loco", v.get("loco")),
    ]
    counts = v.get("counts_only")
    if isinstance(counts, dict):
        blocks += [(f"{at}.counts_only.{k}", counts.get(k)) for k in ("cv", "loco")]
    views = v.get("views", {})
    _need(isinstance(views, dict), f"{at}.views: expected an object")
    assert isinstance(views, dict)
    for name, view in views.items():
        where = f"{at}.views.{name}"
        _need(isinstance(view, dict), f"{where}: expected an object")
        assert isinstance(view, dict)
        known = view.get("known")
        _need(isinstance(known, dict) and bool(known), f"{where}.known: expected rates")
        assert isinstance(known, dict)
        for feature, rate in known.items():
            _need(
                0.0 <= _finite(rate, f"{where}.known.{feature}") <= 1.0,
                f"{where}.known: not in [0, 1]",
            )
        blocks += [(f"{where}.{k}", view.get(k)) for k in ("cv", "loco")]
    for where, block in blocks:
        if block is None or block == {}:
            continue
        _need(isinstance(block, dict), f"{where}: expected an object")
        assert isinstance(block, dict)
        _check_metrics(block.get("pooled"), f"{where}.pooled", len(edges) + 1)
        cols = block.get("collections")
        _need(isinstance(cols, dict), f"{where}.collections: expected an object")
        assert isinstance(cols, dict)
        for name, m in cols.items():
            _check_metrics(m, f"{where}.collections.{name}", len(edges) + 1)


def _object(value: object, where: str) -> dict[str, Any]:
    """``value`` as a JSON object, or ModelError naming ``where``."""
    _need(isinstance(value, dict), f"{where}: expected an object")
    assert isinstance(value, dict)
    return value


def _feature(value: object, where: str) -> str:
    """``value`` as the name of a feature this code computes, or ModelError."""
    _need(
        isinstance(value, str) and value in FEATURE_NAMES,
        f"{where}: unknown feature {str(value)[:40]!r}",
    )
    assert isinstance(value, str)
    return value


def _count(value: object, where: str, limit: int) -> int:
    _need(
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value < limit,
        f"{where}: expected an index below {limit}",
    )
    assert isinstance(value, int)
    return value


def _list(value: object, where: str, least: int, most: int, what: str) -> list[Any]:
    """``value`` as a JSON list of ``least``..``most`` items, or ModelError naming ``where``."""
    _need(
        isinstance(value, list) and least <= len(value) <= most,
        f"{where}: expected a list of {least}..{most} {what}",
    )
    assert isinstance(value, list)
    return value


def _read_forest(raw: object, at: str = "forest") -> Forest:
    """A ``forest`` block (named ``at`` in errors): its bias, distinct questions and trees,
    checked in full."""
    raw = _object(raw, at)
    bias = _finite(raw.get("bias"), f"{at}.bias")
    raw_splits = _list(raw.get("splits"), f"{at}.splits", 0, _MAX_SPLITS, "questions")
    splits: list[Split] = []
    for n, sp in enumerate(raw_splits):
        where = f"{at}.splits[{n}]"
        sp = _object(sp, where)
        name = _feature(sp.get("feature"), f"{where}.feature")
        unknown = sp.get("unknown")
        _need(unknown in ("yes", "no"), f"{where}.unknown: expected 'yes' or 'no'")
        threshold = _finite(sp.get("threshold"), f"{where}.threshold")
        splits.append(Split(FEATURE_NAMES.index(name), threshold, unknown == "yes"))
    _need(len(set(splits)) == len(splits), f"{at}.splits: a question appears twice")
    raw_trees = _list(raw.get("trees"), f"{at}.trees", 0, _MAX_TREES, "trees")
    trees: list[tuple[list[int], FloatArray]] = []
    for n, tree in enumerate(raw_trees):
        where = f"{at}.trees[{n}]"
        tree = _object(tree, where)
        ids = tree.get("splits")
        _need(
            isinstance(ids, list) and 1 <= len(ids) <= MAX_DEPTH,
            f"{where}.splits: expected 1..{MAX_DEPTH} question indices",
        )
        assert isinstance(ids, list)
        questions = [_count(i, f"{where}.splits[{k}]", len(splits)) for k, i in enumerate(ids)]
        values = tree.get("values")
        _need(
            isinstance(values, list) and len(values) == 1 << len(questions),
            f"{where}.values: expected {1 << len(questions)} leaf values",
        )
        assert isinstance(values, list)
        leaf = np.array(
            [_finite(v, f"{where}.values[{k}]") for k, v in enumerate(values)], dtype=np.float64
        )
        trees.append((questions, leaf))
    return Forest(bias, splits, trees, len(FEATURE_NAMES))


def _read_members(data: dict[str, Any], version: int) -> list[Member]:
    """Format 2's single ``forest`` (one member, temperature 1) or format 3's and 4's ``members``
    (3's without a scope: every member speaks for every record)."""
    if version == 2:
        return [Member("all", _read_forest(data.get("forest")))]
    _need(data.get("combine") == COMBINE, f"combine: expected {COMBINE!r}")
    raw = _list(data.get("members"), "members", 1, _MAX_MEMBERS, "members")
    members: list[Member] = []
    for n, item in enumerate(raw):
        where = f"members[{n}]"
        item = _object(item, where)
        name = item.get("name")
        _need(
            isinstance(name, str) and 0 < len(name) <= 40 and name.isidentifier(),
            f"{where}.name: expected a short identifier",
        )
        assert isinstance(name, str)
        _need(name not in {m.name for m in members}, f"{where}.name: {name!r} appears twice")
        temperature = _finite(item.get("temperature"), f"{where}.temperature")
        _need(temperature > 0, f"{where}.temperature: must be positive")
        scope = item.get("scope") if version >= 4 else "any"
        _need(scope in SCOPES, f"{where}.scope: expected one of {list(SCOPES)}")
        assert isinstance(scope, str)
        members.append(
            Member(name, _read_forest(item.get("forest"), f"{where}.forest"), temperature, scope)
        )
    _need(
        any(m.scope == "any" for m in members),
        "members: at least one member must have scope 'any'",
    )
    _need(
        len(members) == 1 or all(m.forest.trees for m in members),
        "members: every member of an ensemble needs at least one tree",
    )
    splits = sum(len(m.forest.splits) for m in members)
    trees = sum(len(m.forest.trees) for m in members)
    _need(splits <= _MAX_SPLITS and trees <= _MAX_TREES, "members: too many trees or questions")
    return members


def model_from_dict(data: object) -> Model:
    """Validate an artifact's data completely, then build the model; ModelError if invalid."""
    _need(isinstance(data, dict), "artifact: expected a JSON object at the top level")
    assert isinstance(data, dict)
    version = data.get("format_version")
    _need(
        isinstance(version, int) and not isinstance(version, bool),
        "format_version: missing or not an integer",
    )
    _need(
        version in SUPPORTED_FORMAT_VERSIONS,
        f"format_version {version} is not supported (this code reads "
        f"{sorted(SUPPORTED_FORMAT_VERSIONS)}); retrain or upgrade followaudit",
    )
    model_version = data.get("model_version")
    _need(
        isinstance(model_version, str) and 0 < len(model_version) <= 100,
        "model_version: expected a short string",
    )
    _need(data.get("kind") == KIND, f"kind: expected {KIND!r}")
    cal = data.get("calibration")
    _need(isinstance(cal, dict), "calibration: expected an object")
    assert isinstance(cal, dict)
    _need(cal.get("method") == "platt", "calibration.method: expected 'platt'")
    a = _finite(cal.get("a"), "calibration.a")
    b = _finite(cal.get("b"), "calibration.b")
    _need(a > 0, "calibration.a: must be positive (the map must keep the ranking)")
    features = data.get("features")
    _need(
        isinstance(features, list) and all(isinstance(f, str) for f in features),
        "features: expected a list of feature names",
    )
    assert isinstance(features, list)
    unknown = sorted(set(features) - set(FEATURE_NAMES))
    _need(not unknown, f"features: unknown to this code: {unknown}")
    members = _read_members(data, version)  # type: ignore[arg-type]
    raw_terms = data.get("terms", [])
    _need(isinstance(raw_terms, list), "terms: expected a list")
    assert isinstance(raw_terms, list)
    terms: list[Term] = []
    seen: set[str] = set()
    for n, raw in enumerate(raw_terms):
        where = f"terms[{n}]"
        raw = _object(raw, where)
        name = _feature(raw.get("feature"), f"{where}.feature")
        _need(name not in seen, f"{where}.feature: {name!r} appears twice")
        _need(name in features, f"{where}.feature: {name!r} is not in the features list")
        seen.add(name)
        knots = _number_list(raw.get("knots"), f"{where}.knots")
        values = _number_list(raw.get("values"), f"{where}.values")
        _need(knots.shape == values.shape, f"{where}: knots and values differ in length")
        _need(bool(np.all(np.diff(knots) > 0)), f"{where}.knots: must strictly increase")
        terms.append(Term(name, knots, values))
    for key in ("validation", "training", "hyperparameters"):
        _need(isinstance(data.get(key, {}), dict), f"{key}: expected an object")
    validation = data.get("validation", {})
    _check_validation(validation)
    audit_member = data.get("audit_member") if version != 2 else None
    _need(
        audit_member is None or audit_member in {m.name for m in members},
        "audit_member: expected the name of a member, or null",
    )
    if audit_member is not None:
        _need(
            isinstance(validation.get("audit"), dict),
            "validation.audit: expected the audit member's histograms",
        )
        _check_validation(validation["audit"], "validation.audit")
    return Model(
        version=model_version,  # type: ignore[arg-type]
        members=members,
        terms=terms,
        calibration=(a, b),
        validation=validation,
        training=data.get("training", {}),
        hyperparameters=data.get("hyperparameters", {}),
        audit_member=audit_member,
    )


def model_from_json(text: str) -> Model:
    """Parse and validate artifact text."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ModelError(f"artifact is not valid JSON: {exc}") from None
    return model_from_dict(data)


def _read(path: Path) -> Model:
    try:
        size = path.stat().st_size
        _need(size <= _MAX_ARTIFACT_BYTES, f"{path}: artifact larger than {_MAX_ARTIFACT_BYTES}")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError(f"model artifact not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read model artifact {path}: {exc}") from None
    try:
        return model_from_json(text)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None


@lru_cache(maxsize=1)
def _packaged() -> Model:
    return _read(DEFAULT_PATH)


def load_model(path: str | Path | None = None) -> Model:
    """Load and validate a model artifact; ``None`` loads the packaged one (cached)."""
    if path is None:
        return _packaged()
    return _read(Path(path))
