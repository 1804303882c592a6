"""Train the fake-follower model and measure it honestly (deterministic).

    python -m scoring.train --data ../shared/datasets/accounts --out scoring/data/model.json

The model is an ensemble of two gradient-boosted forests of oblivious trees
(:mod:`scoring.boosting`) on the features of :mod:`scoring.features` (``MEMBERS``): ``fit``,
free to learn each kind of fake's own shape (what a single collection's model exploits), scores
every record; ``transfer``, held to the monotone directions every collection agrees on (what
keeps it right on collections it never saw), also speaks for *bare* records (counts only, no
profile), where their calibrated maximum decides: with counts alone the free member's shapes
are one collection's quirks. Plus a fixed prior for ``declared_bot`` (no labelled data has it).
Training handles the data sets' artefacts:

* every collection (``source`` up to its first ``/``) gets the same total weight, split equally
  between its classes and, within a class, between its parts (so social_spambots_2's empty
  profiles are one third of Cresci-2017's bots, not two thirds);
* fields a collection did not record are blanked (unknown), not read as "empty" or "false";
* the training rows are the accounts as collected *and* as each platform view returns them
  (:mod:`scoring.views`: Bluesky/Mastodon fields, bare counts), plus a copy with random groups
  of fields blanked and a light copy with nothing known (so the record with nothing known, the
  baseline of every reason, scores the base rate): one model scores every shape of record.

Validation uses out-of-sample predictions only, for every view: stratified 5-fold
cross-validation over all collections (strata collection x label), leave-one-collection-out,
and Cresci-2015 alone (the papers' setting). Each member's temperature is fitted on its own
cross-validated logits (so that their maximum compares like with like), then a map (temperature
or Platt) fitted on the combined cross-validated logits calibrates the probabilities. Beside every
collection and view, a *plain reference*, a default LightGBM trained on that collection alone
(5-fold, the same features), shows what the data allows; it needs the ``train`` extra and is
skipped with a note without it. scipy (and LightGBM) are needed here only, never at scoring time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from scoring.account import Account
from scoring.boosting import BoostParams, boost
from scoring.features import (
    BANNER_BASE_RATE_PLATFORMS,
    FEATURE_NAMES,
    FIELD_FEATURES,
    extract,
    known_fractions,
)
from scoring.forest import Forest
from scoring.histogram import SCORE_EDGES, bin_counts
from scoring.model import Member, Model, Term, combine, speaks
from scoring.views import FULL, VIEWS, as_seen_on

__all__ = [
    "MEMBERS",
    "MODEL_VERSION",
    "auc",
    "binary_metrics",
    "fit",
    "main",
    "reliability",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MODEL_VERSION: Final = "fa-2026.12.07-2"
SEED: Final = 20261205
FOLDS: Final = 5


@dataclass(frozen=True)
class MemberRecipe:
    """How one member of the ensemble is grown."""

    name: str
    params: BoostParams
    #: Held to ``MONOTONE``'s directions (else free in every feature).
    monotone: bool
    #: The records it speaks for (``scoring.model.SCOPES``): every one, or bare ones only.
    scope: str = "any"

    def to_dict(self) -> dict[str, Any]:
        return {"boosting": self.params.to_dict(), "monotone": self.monotone, "scope": self.scope}


#: The shipped ensemble: 150 monotone trees of depth 6 at learning rate 0.2 (``transfer``),
#: which speaks only for bare records (counts, no profile), and 150 free trees of depth 8 at 0.3
#: (``fit``), which speaks for every record; combined by their calibrated maximum. A record
#: with a profile is scored by ``fit`` alone, a bare one by the larger of the two.
MEMBERS: Final = (
    MemberRecipe(
        "transfer", BoostParams(n_trees=150, depth=6, learning_rate=0.2, l2=1e-4), True, "bare"
    ),
    MemberRecipe("fit", BoostParams(n_trees=150, depth=8, learning_rate=0.3, l2=1e-4), False),
)
#: The member whose scores the audit's share estimate reads: the monotone one, whose error
#: rates hold on collections it never saw (the free member's sharper fit moves its histograms
#: most where the audit can least afford it: on people unlike any validated ones).
AUDIT_MEMBER: Final = "transfer"
#: How the logits are mapped to probabilities when the held-out comparison cannot be made:
#: "temperature" (sigmoid(a * logit), the slope only). With every collection validated, the
#: map whose held-out Brier is lower ships (``validation.calibration_choice``).
CALIBRATION: Final[str] = "temperature"
#: Weights of the training copies: as collected, each view, random group dropout, nothing known.
COPY_WEIGHTS: Final[Mapping[str, float]] = {
    "full": 1.0,
    "bluesky": 1.0,
    "counts": 1.0,
    "dropout": 1.0,
    "nothing": 0.05,
}
DROPOUT_P: Final = 0.4

#: Fields a collection did not record (null there means unknown, not empty/false).
UNRECORDED: Final[Mapping[str, tuple[str, ...]]] = {
    "cresci-2015": ("verified", "protected"),
    "twitter-human-bots-kaggle-2020": (
        "display_name",
        "url",
        "listed_count",
        "has_banner",
        "protected",
    ),
    # fake-v1.0 rows have these, nonautomated rows do not: presence alone gives the label away.
    "instafake": ("has_default_avatar", "protected"),
}
#: No labelled data has it; a fixed prior: an account that declares itself automated is a bot.
FIXED_TERMS: Final[Mapping[str, tuple[tuple[float, float], tuple[float, float]]]] = {
    "declared_bot": ((0.0, 1.0), (0.0, 6.0)),
}
#: Directions the model is held to (+1: more of it never lowers the fake probability, -1:
#: never raises it), for the features whose univariate direction agrees in every collection
#: (``validation`` README table) or that the product must never read backwards in a reason.
#: Transfer to collections the model never saw rests on them: unconstrained trees learn each
#: collection's quirks (bought followers follow thousands, 2020's bots follow few).
MONOTONE: Final[Mapping[str, int]] = {
    "log_followers": -1,
    "follow_ratio": -1,
    "lopsided_following": 1,
    "log_posts": -1,
    "log_likes": -1,
    "log_listed": -1,
    "log_age_days": -1,
    "verified": -1,
    "has_banner": -1,
    "has_url": -1,
    "bio_length": -1,
    "default_avatar": 1,
    "handle_digits": 1,
    "handle_trailing_digits": 1,
    "name_handle_mismatch": 1,
}
#: Features the trees never read: the fixed priors' (left to the priors) and those whose
#: direction flips between collections (following counts and rates).
EXCLUDED: Final[tuple[str, ...]] = ()
DROPOUT_GROUPS: Final[tuple[tuple[str, ...], ...]] = (
    ("log_followers", "follow_ratio", "lopsided_following"),
    ("log_following", "follow_ratio", "lopsided_following", "following_per_day"),
    ("log_posts", "posts_per_day"),
    ("log_likes", "likes_per_day"),
    ("log_listed",),
    ("log_age_days", "posts_per_day", "likes_per_day", "following_per_day"),
    ("default_avatar",),
    ("has_banner",),
    ("verified",),
    ("bio_length",),
    ("has_url", "has_location"),
    ("handle_length", "handle_digits", "handle_trailing_digits", "name_handle_mismatch"),
)


def collection_of(account: Account) -> str:
    """The collection a labelled account comes from: its ``source`` up to the first ``/``."""
    return (account.source or "unknown").split("/", 1)[0]


# ---------------------------------------------------------------------------------------------
# Metrics (numpy only, reusable by the audit's evaluation)


def auc(y: IntArray, p: FloatArray) -> float | None:
    """Area under the ROC curve (ties count half); None when a class is absent."""
    pos = int(y.sum())
    neg = int(y.shape[0] - pos)
    if pos == 0 or neg == 0:
        return None
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(p.shape[0], dtype=np.float64)
    sorted_p = p[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_p, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def binary_metrics(y: IntArray, p: FloatArray) -> dict[str, Any]:
    """The validation figures the audit builds on, for labels ``y`` and probabilities ``p``."""
    pos, neg = y == 1, y == 0
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    pred = p >= 0.5

    def hist(mask: BoolArray) -> list[float]:
        if not mask.any():
            return [0.0] * (len(SCORE_EDGES) + 1)
        h = bin_counts(p[mask], SCORE_EDGES)
        return [round(float(v), 5) for v in h / mask.sum()]

    return {
        "n_pos": n_pos,
        "n_neg": n_neg,
        "auc": _r(auc(y, p)),
        "accuracy": _r(float(np.mean(pred == pos)) if y.size else None),
        "brier": _r(float(np.mean((p - y) ** 2)) if y.size else None),
        "tpr": _r(float(pred[pos].mean()) if n_pos else None),
        "fpr": _r(float(pred[neg].mean()) if n_neg else None),
        "mean_p_pos": _r(float(p[pos].mean()) if n_pos else None),
        "mean_p_neg": _r(float(p[neg].mean()) if n_neg else None),
        "hist_pos": hist(pos),
        "hist_neg": hist(neg),
    }


def reliability(y: IntArray, p: FloatArray, bins: int = 10) -> list[dict[str, Any]]:
    """Reliability table: per probability bin, count, mean predicted and observed fake rate."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        m = which == b
        rows.append(
            {
                "from": round(float(edges[b]), 2),
                "to": round(float(edges[b + 1]), 2),
                "n": int(m.sum()),
                "mean_p": _r(float(p[m].mean())) if m.any() else None,
                "observed": _r(float(y[m].mean())) if m.any() else None,
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Data:
    """Training rows: features with unrecorded fields blanked, labels, weights, collections."""

    x: FloatArray
    y: IntArray
    w: FloatArray
    collection: list[str]

    @property
    def groups(self) -> IntArray:
        """Collection number of each row (collections in sorted order)."""
        names = sorted(set(self.collection))
        return np.array([names.index(c) for c in self.collection], dtype=np.int64)


def prepare(accounts: Sequence[Account]) -> Data:
    """Features, labels and balanced weights for labelled accounts (label None is an error)."""
    if any(a.label is None for a in accounts):
        raise ValueError("every training account needs a label (0 or 1)")
    x = extract(accounts)
    cols = [collection_of(a) for a in accounts]
    col_idx = {name: j for j, name in enumerate(FEATURE_NAMES)}
    for name, fields in UNRECORDED.items():
        rows = np.array([c == name for c in cols], dtype=bool)
        if not rows.any():
            continue
        for fld in fields:
            for feat in FIELD_FEATURES.get(fld, ()):
                x[rows, col_idx[feat]] = math.nan
    y = np.array([a.label for a in accounts], dtype=np.int64)
    return Data(x=x, y=y, w=balanced_weights(accounts, cols, y), collection=cols)


def balanced_weights(accounts: Sequence[Account], cols: list[str], y: IntArray) -> FloatArray:
    """Equal weight per collection, split equally by class, then equally by part (source)."""
    w = np.zeros(len(accounts))
    groups: dict[tuple[str, int], dict[str, list[int]]] = {}
    for i, a in enumerate(accounts):
        groups.setdefault((cols[i], int(y[i])), {}).setdefault(a.source or "", []).append(i)
    classes_in: dict[str, int] = {}
    for c, _label in groups:
        classes_in[c] = classes_in.get(c, 0) + 1
    for (c, _label), parts in groups.items():
        share = 1.0 / classes_in[c] / len(parts)
        for rows in parts.values():
            w[rows] = share / len(rows)
    return np.asarray(w / w.sum(), dtype=np.float64)


def platt(
    logit: FloatArray, y: IntArray, w: FloatArray, *, fit_intercept: bool = True
) -> tuple[float, float]:
    """Weighted Platt scaling: (a, b) minimising log loss of sigmoid(a * logit + b).

    Without ``fit_intercept``, b stays 0 (temperature scaling: only the slope is fitted).
    """
    from scipy.optimize import minimize  # type: ignore[import-untyped]  # training only

    wn = w / w.sum()
    yf = y.astype(np.float64)

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        eta = theta[0] * logit + theta[1]
        loss = float(np.sum(wn * (np.logaddexp(0.0, eta) - yf * eta)))
        resid = wn * (1.0 / (1.0 + np.exp(-eta)) - yf)
        return loss, np.array([float(resid @ logit), float(resid.sum())])

    res = minimize(
        objective,
        np.array([1.0, 0.0]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(1e-3, None), (None, None) if fit_intercept else (0.0, 0.0)],
    )
    return float(res.x[0]), float(res.x[1])


def _held_out_brier(
    cv: FloatArray, loco: FloatArray, y: IntArray, w: FloatArray, carr: npt.NDArray[Any]
) -> dict[str, Any]:
    """Brier of each collection's leave-one-collection-out predictions under calibration maps
    fitted without that collection's labels (on the others' cross-validated logits)."""
    out: dict[str, Any] = {}
    for method, intercept in (("platt", True), ("temperature", False)):
        per: dict[str, float | None] = {}
        for c in sorted(set(carr.tolist())):
            other, held = carr != c, carr == c
            if len(set(y[other].tolist())) < 2 or np.isnan(loco[held]).any():
                continue
            a, b = platt(cv[other], y[other], w[other], fit_intercept=intercept)
            p = _sigmoid(a * loco[held] + b)
            per[c] = _r(float(np.mean((p - y[held]) ** 2)))
        vals = [v for v in per.values() if v is not None]
        out[method] = {
            "mean": _r(float(np.mean(vals))) if vals else None,
            "collections": per,
        }
    return out


def stratified_folds(strata: Sequence[str], k: int, seed: int = SEED) -> IntArray:
    """Fold number per row, each stratum dealt round-robin in a seeded random order."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(strata), dtype=np.int64)
    by: dict[str, list[int]] = {}
    for i, s in enumerate(strata):
        by.setdefault(s, []).append(i)
    for s in sorted(by):
        rows = np.array(by[s])
        rows = rows[rng.permutation(rows.size)]
        fold[rows] = np.arange(rows.size) % k
    return fold


def _grouped(
    y: IntArray, p: FloatArray, cols: list[str], rows: BoolArray | None = None
) -> dict[str, Any]:
    sel = np.ones(y.shape[0], dtype=bool) if rows is None else rows
    names = sorted({c for c, s in zip(cols, sel, strict=True) if s})
    carr = np.array(cols)
    return {
        "pooled": binary_metrics(y[sel], p[sel]),
        "collections": {
            c: binary_metrics(y[sel & (carr == c)], p[sel & (carr == c)]) for c in names
        },
    }


def _sigmoid(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -500, 500))), dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Training rows: the accounts as collected, as each view returns them, and partial copies


@dataclass(frozen=True)
class Design:
    """Feature matrices of the same labelled accounts, one per view (rows aligned)."""

    data: Data
    views: Mapping[str, FloatArray]

    @property
    def n(self) -> int:
        return int(self.data.y.shape[0])


def design(accounts: Sequence[Account]) -> Design:
    """The accounts' features as collected (``full``) and as each view returns them."""
    data = prepare(accounts)
    views = {FULL.name: data.x}
    for v in VIEWS:
        views[v.name] = prepare([as_seen_on(a, v) for a in accounts]).x
    return Design(data, views)


def _dropout(x: FloatArray, rng: np.random.Generator) -> FloatArray:
    """A copy with each group of fields blanked at random (``DROPOUT_P`` per group and row)."""
    out = x.copy()
    for group in DROPOUT_GROUPS:
        hit = rng.random(x.shape[0]) < DROPOUT_P
        for name in group:
            out[hit, FEATURE_NAMES.index(name)] = math.nan
    return out


def _trees_only(x: FloatArray) -> FloatArray:
    """The matrix with the features the trees never read blanked."""
    out = x.copy()
    for name in (*FIXED_TERMS, *EXCLUDED):
        out[:, FEATURE_NAMES.index(name)] = math.nan
    return out


def _monotone() -> IntArray:
    return np.array([MONOTONE.get(f, 0) for f in FEATURE_NAMES], dtype=np.int64)


def fit_members(d: Design, rows: IntArray, recipes: Sequence[MemberRecipe] = MEMBERS) -> Model:
    """Boost every member on ``rows`` of every copy; an uncalibrated model (temperatures 1,
    calibration (1, 0))."""
    rng = np.random.default_rng(SEED)
    base = d.views[FULL.name][rows]
    copies = {name: d.views[name][rows] for name in d.views}
    copies["dropout"] = _dropout(base, rng)
    copies["nothing"] = np.full_like(base, math.nan)
    x = _trees_only(np.vstack([copies[k] for k in COPY_WEIGHTS]))
    y = np.concatenate([d.data.y[rows]] * len(COPY_WEIGHTS))
    w = np.concatenate([d.data.w[rows] * COPY_WEIGHTS[k] for k in COPY_WEIGHTS])
    forests: list[Forest] = [
        boost(x, y, w, r.params, monotone=_monotone() if r.monotone else None) for r in recipes
    ]
    return Model(
        version=MODEL_VERSION,
        members=[Member(r.name, f, 1.0, r.scope) for r, f in zip(recipes, forests, strict=True)],
        terms=[Term(n, np.array(k), np.array(v)) for n, (k, v) in FIXED_TERMS.items()],
        calibration=(1.0, 0.0),
    )


def _tempered(model: Model, temperatures: Sequence[float]) -> Model:
    """``model`` with its members' temperatures set (the calibration map left as it is)."""
    return Model(
        version=model.version,
        members=[
            Member(m.name, m.forest, t, m.scope)
            for m, t in zip(model.members, temperatures, strict=True)
        ],
        terms=model.terms,
        calibration=model.calibration,
    )


def fit(accounts: Sequence[Account], *, validate: bool = True) -> Model:
    """Train on labelled accounts (with ``label`` and ``source``); deterministic.

    The calibration map is always fitted on cross-validated logits. With ``validate`` (the
    default) the model also carries the leave-one-collection-out and Cresci-2015 figures;
    without it only the cross-validation block.
    """
    if not accounts:
        raise ValueError("no training accounts")
    return fit_design(design(accounts), validate=validate)


def fit_design(d: Design, *, validate: bool = True) -> Model:
    """:func:`fit` on accounts already turned into their views' features."""
    y, cols = d.data.y, d.data.collection
    carr = np.array(cols)
    validation, calibration, temperatures = _validate(d, full=validate)
    final = _tempered(fit_members(d, np.arange(d.n)), temperatures)
    collections = sorted(set(cols))
    training = {
        "n_accounts": d.n,
        "collections": {
            c: {"n_pos": int(y[carr == c].sum()), "n_neg": int((y[carr == c] == 0).sum())}
            for c in collections
        },
        "weighting": "equal per collection, equal per class within it, equal per source part",
        "unrecorded_fields": {k: list(v) for k, v in UNRECORDED.items()},
        "copies": dict(COPY_WEIGHTS),
        "fixed_terms": {k: "prior, no labelled data has this field" for k in FIXED_TERMS},
        "platform_rules": {
            "has_banner": (
                "a missing banner is read as unknown outside "
                f"{sorted(BANNER_BASE_RATE_PLATFORMS)} (its base rate among genuine accounts "
                "elsewhere is not measured); a present banner counts everywhere"
            ),
        },
    }
    hyper = {
        "seed": SEED,
        "members": {r.name: r.to_dict() for r in MEMBERS},
        "combine": (
            "max of the tempered logits of the members whose scope holds the record, then the "
            "calibration map"
        ),
        "audit_member": AUDIT_MEMBER,
        "monotone": dict(MONOTONE),
        "excluded_features": list(EXCLUDED),
        "dropout_p": DROPOUT_P,
        "calibration": validation.get("calibration_choice", {}).get("shipped", CALIBRATION),
    }
    return Model(
        version=MODEL_VERSION,
        members=final.members,
        terms=final.terms,
        calibration=(round(calibration[0], 6), round(calibration[1], 6)),
        validation=validation,
        training=training,
        hyperparameters=hyper,
        audit_member=AUDIT_MEMBER,
    )


def _validate(
    d: Design, *, full: bool = True
) -> tuple[dict[str, Any], tuple[float, float], list[float]]:
    """Out-of-sample logits for every view (5-fold and leave-one-collection-out), the members'
    temperatures and the calibration map fitted on the 5-fold ones, and the figures the
    artifact keeps."""
    y, w, cols = d.data.y, d.data.w, d.data.collection
    carr = np.array(cols)
    n, k = d.n, len(MEMBERS)
    names = sorted(set(cols))
    # Per view: each member's logits (members, n) and the priors' part (n,), out of sample.
    member_cv = {v: np.full((k, n), np.nan) for v in d.views}
    member_loco = {v: np.full((k, n), np.nan) for v in d.views}
    prior = {v: np.zeros(n) for v in d.views}
    folds = stratified_folds([f"{c}|{v}" for c, v in zip(cols, y.tolist(), strict=True)], FOLDS)
    for f in range(FOLDS):
        tr, te = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
        if not te.size or len(set(y[tr].tolist())) < 2:
            continue
        m = fit_members(d, tr)
        for v, x in d.views.items():
            member_cv[v][:, te] = m.member_logits(x[te])
            prior[v][te] = m.prior_logits(x[te])
    if full and len(names) > 1:
        for c in names:
            tr, te = np.flatnonzero(carr != c), np.flatnonzero(carr == c)
            if len(set(y[tr].tolist())) < 2:
                continue
            m = fit_members(d, tr)
            for v, x in d.views.items():
                member_loco[v][:, te] = m.member_logits(x[te])
    # Each member's temperature on its own cross-validated logits (full records): the maximum
    # then compares calibrated evidence, not scales.
    seen = ~np.isnan(member_cv[FULL.name][0])
    temperatures = [
        round(platt(z[seen], y[seen], w[seen], fit_intercept=False)[0], 6)
        if seen.any() and len(set(y[seen].tolist())) == 2
        else 1.0
        for z in member_cv[FULL.name]
    ]
    t = np.asarray(temperatures)[:, None]
    scopes = [r.scope for r in MEMBERS]
    masks = {v: speaks(scopes, x) for v, x in d.views.items()}

    def combined(z: FloatArray, view: str) -> FloatArray:
        won = combine(np.where(np.isnan(z), -np.inf, t * z), masks[view])
        return np.asarray(np.take_along_axis(t * z, won[None, :], axis=0)[0] + prior[view])

    cv = {v: combined(z, v) for v, z in member_cv.items()}
    loco = {v: combined(z, v) for v, z in member_loco.items()}
    ok_cv, ok_loco = ~np.isnan(cv[FULL.name]), ~np.isnan(loco[FULL.name])
    choice: dict[str, Any] = {}
    method = CALIBRATION
    if full and ok_loco.all() and ok_cv.all():
        choice = _held_out_brier(cv[FULL.name], loco[FULL.name], y, w, carr)
        means = {m: choice[m]["mean"] for m in ("temperature", "platt")}
        if None not in means.values():
            method = min(means, key=lambda m: (means[m], m != CALIBRATION))
    a, b = (
        platt(cv[FULL.name][ok_cv], y[ok_cv], w[ok_cv], fit_intercept=method == "platt")
        if ok_cv.any() and len(set(y[ok_cv].tolist())) == 2
        else (1.0, 0.0)
    )

    def cal(z: FloatArray) -> FloatArray:
        return _sigmoid(a * z + b)

    def blocks(logits: Mapping[str, FloatArray], ok: BoolArray, cal: Any = cal) -> dict[str, Any]:
        return {v: _grouped(y, cal(z), cols, ok) if ok.any() else {} for v, z in logits.items()}

    cv_blocks, loco_blocks = blocks(cv, ok_cv), blocks(loco, ok_loco)
    # The audit member's own calibrated scores (its temperature): the histograms the audit's
    # share estimate reads.
    i = [r.name for r in MEMBERS].index(AUDIT_MEMBER)
    audit_cv = {v: t[i] * z[i] + prior[v] for v, z in member_cv.items()}
    audit_loco = {v: t[i] * z[i] + prior[v] for v, z in member_loco.items()}
    audit_cv_blocks = blocks(audit_cv, ok_cv, _sigmoid)
    audit_loco_blocks = blocks(audit_loco, ok_loco, _sigmoid)
    out: dict[str, Any] = {
        "description": VALIDATION_DESCRIPTION,
        "histogram_edges": list(SCORE_EDGES),
        "cv": cv_blocks[FULL.name],
        "loco": loco_blocks[FULL.name],
        "counts_only": {"cv": cv_blocks["counts"], "loco": loco_blocks["counts"]},
        "reliability": {
            "cv": reliability(y[ok_cv], cal(cv[FULL.name])[ok_cv]),
            "loco": reliability(y[ok_loco], cal(loco[FULL.name])[ok_loco]) if ok_loco.any() else [],
            "collections": {
                block: {
                    c: reliability(y[ok & (carr == c)], cal(z[FULL.name])[ok & (carr == c)])
                    for c in names
                    if (ok & (carr == c)).any()
                }
                for block, z, ok in (("cv", cv, ok_cv), ("loco", loco, ok_loco))
            },
        },
        "calibration_fit": f"{method} on the 5-fold out-of-sample logits of full records",
        "views": {
            FULL.name: {"description": FULL.doc, "known": known_fractions(d.views[FULL.name])},
            **{
                v.name: {
                    "description": v.doc,
                    "known": known_fractions(d.views[v.name]),
                    "cv": cv_blocks[v.name],
                    "loco": loco_blocks[v.name],
                }
                for v in VIEWS
            },
        },
    }
    if choice:
        out["calibration_choice"] = {
            "description": (
                "Brier of each collection's loco predictions when the calibration map is "
                "fitted on the other collections' cv logits only; the lower mean is shipped "
                f"(a tie keeps {CALIBRATION})"
            ),
            "shipped": method,
            **choice,
        }
    out["audit"] = {
        "description": (
            f"the {AUDIT_MEMBER!r} member's figures, each score sigmoid(temperature * logit): "
            "the histograms the audit's share estimate reads (same layout as the validation)"
        ),
        "histogram_edges": list(SCORE_EDGES),
        "cv": audit_cv_blocks[FULL.name],
        "loco": audit_loco_blocks[FULL.name],
        "counts_only": {"cv": audit_cv_blocks["counts"], "loco": audit_loco_blocks["counts"]},
        "views": {
            name: {key: value for key, value in block.items() if key not in ("cv", "loco")}
            | (
                {"cv": audit_cv_blocks[name], "loco": audit_loco_blocks[name]}
                if name != FULL.name
                else {}
            )
            for name, block in out["views"].items()
        },
    }
    out["members"] = {
        "description": (
            "each member's temperature, fitted on its own 5-fold logits of full records, and "
            "how often it decides the 5-fold score (the largest tempered logit of the members "
            "that speak for the record) per view and collection"
        ),
        "temperatures": dict(zip([r.name for r in MEMBERS], temperatures, strict=True)),
        "decides": {
            v: _decides(t * member_cv[v], masks[v], carr, ok_cv) for v in (FULL.name, "counts")
        },
    }
    c15 = np.flatnonzero(carr == "cresci-2015")
    if full and c15.size >= 2 * FOLDS and len(set(y[c15].tolist())) == 2:
        out["cresci_2015_cv"] = single_collection_cv(d, c15, temperatures)
    return out, (a, b), temperatures


def _decides(
    z: FloatArray, mask: BoolArray | None, carr: npt.NDArray[Any], ok: BoolArray
) -> dict[str, Any]:
    """Per collection, the share of rows each member decides (its tempered logit the largest of
    the members that speak for the row)."""
    won = combine(np.where(np.isnan(z), -np.inf, z), mask)
    return {
        c: {r.name: _r(float(np.mean(won[ok & (carr == c)] == i))) for i, r in enumerate(MEMBERS)}
        for c in sorted(set(carr.tolist()))
        if (ok & (carr == c)).any()
    }


def single_collection_cv(
    d: Design, rows: IntArray, temperatures: Sequence[float] | None = None
) -> dict[str, Any]:
    """Stratified 5-fold within one collection, the shipped recipe trained on its folds only
    (its members combined at ``temperatures``); each fold's own probabilities (the setting of
    the papers that report in-domain figures)."""
    y = d.data.y[rows]
    folds = stratified_folds([str(v) for v in y.tolist()], FOLDS)
    logit = np.full(rows.size, np.nan)
    for f in range(FOLDS):
        m = fit_members(d, rows[folds != f])
        if temperatures is not None:
            m = _tempered(m, temperatures)
        logit[folds == f] = m.raw_from_features(d.views[FULL.name][rows[folds == f]])
    return binary_metrics(y, _sigmoid(logit))


# ---------------------------------------------------------------------------------------------
# The plain reference: a default gradient-boosted model per collection (training only)


def plain_reference(d: Design) -> dict[str, Any] | None:
    """Per view and collection, the 5-fold AUC of a default LightGBM (400 trees, learning rate
    0.05, 31 leaves) trained on that collection alone; None without lightgbm."""
    try:
        import lightgbm  # type: ignore[import-untyped,import-not-found,unused-ignore]  # train extra
    except ImportError:
        return None
    y, carr = d.data.y, np.array(d.data.collection)
    out: dict[str, Any] = {}
    for view, x in d.views.items():
        per: dict[str, Any] = {}
        for c in sorted(set(carr.tolist())):
            rows = np.flatnonzero(carr == c)
            yc = y[rows]
            if min(int(yc.sum()), int((yc == 0).sum())) < FOLDS:
                continue
            folds = stratified_folds([str(v) for v in yc.tolist()], FOLDS)
            p = np.zeros(rows.size)
            for f in range(FOLDS):
                clf = lightgbm.LGBMClassifier(
                    n_estimators=400,
                    learning_rate=0.05,
                    num_leaves=31,
                    random_state=SEED % 2**31,
                    deterministic=True,
                    n_jobs=1,
                    verbose=-1,
                )
                clf.fit(x[rows[folds != f]], yc[folds != f])
                p[folds == f] = np.asarray(clf.predict_proba(x[rows[folds == f]]))[:, 1]
            per[c] = {"auc": _r(auc(yc, p)), "n": int(rows.size), "se": _r(_auc_se(yc, p))}
        out[view] = per
    return {
        "description": (
            "5-fold AUC within each collection of a default LightGBM (400 trees, learning rate "
            "0.05, 31 leaves) trained on that collection alone, on the same features as the "
            "accounts appear in each view; se: the AUC's standard error (Hanley-McNeil)"
        ),
        "lightgbm": str(lightgbm.__version__),
        "views": out,
    }


def _auc_se(y: IntArray, p: FloatArray) -> float | None:
    """Hanley-McNeil standard error of the AUC."""
    a = auc(y, p)
    if a is None:
        return None
    n1, n0 = int(y.sum()), int((y == 0).sum())
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    return math.sqrt((a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0))


VALIDATION_DESCRIPTION: Final = (
    "Out-of-sample figures only. cv: stratified 5-fold over all collections pooled (strata "
    "collection x label), each fold's model trained on every collection's training folds; "
    "loco: each collection scored by a model trained on the other collections; views: the "
    "same fold models scoring the accounts as each platform returns them (scoring.views), with "
    "how often each feature is known there (known); counts_only is the counts view. All are "
    "calibrated with the shipped map (see calibration_fit). cresci_2015_cv: the shipped recipe, "
    "5-fold on Cresci-2015 alone (the paper's setting, each fold's own probabilities). "
    "reference: a default LightGBM per collection and view (see its description). tpr/fpr at "
    "p >= 0.5; mean_p_pos/mean_p_neg are soft rates; hist_pos/hist_neg are the fractions of "
    "each class in the bins whose interior edges (probabilities) are histogram_edges: equal "
    "steps of the logit, open at both ends."
)


def as_collection(accounts: Sequence[Account], name: str) -> list[Account]:
    """The accounts as one collection called ``name``: each ``source`` becomes
    ``<name>/<source>``, so its parts stay apart within it (``name`` has no ``/``)."""
    if not name or "/" in name:
        raise ValueError(f"a collection name has no '/': {name!r}")
    return [replace(a, source=f"{name}/{a.source or 'labelled'}") for a in accounts]


def read_extra(paths: Sequence[Path], taken: Iterable[str]) -> tuple[list[Account], dict[str, Any]]:
    """Extra labelled files (e.g. ``followaudit labels export``), each its own collection named
    ``extra:<file stem>`` (numbered when names repeat): the accounts and, per collection, its
    file and sha256. Raises ValueError naming the file and line of a row that cannot be used."""
    names = set(taken)
    accounts: list[Account] = []
    info: dict[str, Any] = {}
    for path in paths:
        blob = path.read_bytes()
        base = "extra:" + path.stem.replace("/", "_")
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}-{k}"
        names.add(name)
        rows = []
        for n, line in enumerate(blob.decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                account = Account.from_dict(json.loads(line))
            except ValueError as exc:
                raise ValueError(f"{path}, line {n}: {exc}") from None
            if account.label is None:
                raise ValueError(f"{path}, line {n}: no label (1 fake, 0 genuine)")
            rows.append(account)
        if not rows:
            raise ValueError(f"{path}: no labelled accounts")
        accounts.extend(as_collection(rows, name))
        info[name] = {
            "file": path.name,
            "sha256": hashlib.sha256(blob).hexdigest(),
            "n_pos": sum(a.label == 1 for a in rows),
            "n_neg": sum(a.label == 0 for a in rows),
        }
    return accounts, info


def read_collections(folder: Path) -> tuple[list[Account], dict[str, str]]:
    """Every ``*.jsonl`` file in ``folder`` as accounts, with each file's sha256."""
    accounts: list[Account] = []
    hashes: dict[str, str] = {}
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise SystemExit(f"no *.jsonl files in {folder}")
    for path in files:
        blob = path.read_bytes()
        hashes[path.name] = hashlib.sha256(blob).hexdigest()
        for line in blob.decode("utf-8").splitlines():
            if line.strip():
                accounts.append(Account.from_dict(json.loads(line)))
    return accounts, hashes


# ---------------------------------------------------------------------------------------------
# Command line (the only I/O in scoring/)


def summary(model: Model) -> str:
    """A plain-text table of the validation figures, the plain reference beside each."""
    v = model.validation
    ref = v.get("reference") or {}
    members = ", ".join(
        f"{m.name} ({len(m.forest.trees)} trees of depth {m.forest.depth}, "
        f"temperature {m.temperature}, "
        f"{'bare records only' if m.scope == 'bare' else 'every record'})"
        for m in model.members
    )
    lines = [f"model {model.version}: max of {members}; calibration {model.calibration}"]
    if "cresci_2015_cv" in v:
        m = v["cresci_2015_cv"]
        lines.append(
            f"cresci_2015_cv (trained on Cresci-2015 alone): AUC {m['auc']}  "
            f"accuracy {m['accuracy']}  Brier {m['brier']}"
        )
    if not ref:
        lines.append("plain reference: not computed (pip install '.[train]' for lightgbm)")
    for name, view in v.get("views", {}).items():
        cv = v["cv"] if name == FULL.name else view.get("cv", {})
        loco = v["loco"] if name == FULL.name else view.get("loco", {})
        refs = ref.get("views", {}).get(name, {})
        lines.append(f"view {name}: 5-fold AUC (all collections' training folds) | plain ref")
        lines.append(
            f"  {'collection':34s} {'n':>6s}  {'cv AUC':>6s}  {'ref':>6s} {'±se':>6s} "
            f"{'diff':>7s}  {'loco':>6s}  {'acc':>6s}  {'Brier':>6s}"
        )
        for c, m in [("pooled", cv.get("pooled")), *cv.get("collections", {}).items()]:
            if not m:
                continue
            r = refs.get(c, {})
            lo = loco.get("collections", {}).get(c) if c != "pooled" else loco.get("pooled")
            diff = (
                f"{m['auc'] - r['auc']:+.4f}"
                if r.get("auc") is not None and m["auc"] is not None
                else ""
            )
            lines.append(
                f"  {c:34s} {m['n_pos'] + m['n_neg']:6d}  {m['auc']!s:>6s}  "
                f"{r.get('auc', '')!s:>6s} {r.get('se', '')!s:>6s} {diff:>7s}  "
                f"{(lo or {}).get('auc', '')!s:>6s}  {m['accuracy']!s:>6s}  {m['brier']!s:>6s}"
            )
    for label in ("cv", "loco"):
        table = v.get("reliability", {}).get(label) or []
        lines.append(
            f"reliability ({label}): "
            + "  ".join(
                f"[{row['from']:.1f},{row['to']:.1f}) n={row['n']} "
                f"p={row['mean_p']} obs={row['observed']}"
                for row in table
                if row["n"]
            )
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scoring.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", type=Path, required=True, help="folder of labelled *.jsonl files")
    parser.add_argument("--out", type=Path, help="where to write the model artifact (JSON)")
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the plain LightGBM reference"
    )
    parser.add_argument(
        "--extra",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help="more labelled accounts (JSON Lines, e.g. from `followaudit labels export`), each "
        "file its own collection (extra:<file stem>) in training and in every figure",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(
            f"labelled data not found at {args.data}: training reads the shared data sets "
            "(see ../shared/datasets/README.md); pass --data FOLDER",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    accounts, hashes = read_collections(args.data)
    print(f"training on {len(accounts):,} accounts from {len(hashes)} files", file=sys.stderr)
    extra: dict[str, Any] = {}
    if args.extra:
        try:
            more, extra = read_extra(args.extra, {collection_of(a) for a in accounts})
        except (OSError, ValueError) as exc:
            print(f"--extra: {exc}", file=sys.stderr)
            return 2
        accounts += more
        print(
            f"and {len(more):,} accounts from {len(extra)} extra files: "
            + ", ".join(
                f"{c} ({e['file']}: {e['n_pos']} fake, {e['n_neg']} genuine)"
                for c, e in extra.items()
            ),
            file=sys.stderr,
        )
    d = design(accounts)
    model = fit_design(d)
    if not args.no_reference:
        reference = plain_reference(d)
        if reference is not None:
            model.validation["reference"] = reference
    model.training["files"] = hashes
    if extra:
        model.training["extra"] = extra
    print(summary(model))
    print(f"trained in {time.monotonic() - started:.0f} s", file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(model.to_json(), encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
