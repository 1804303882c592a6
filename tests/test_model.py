import copy
import json
import math
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from scoring.account import Account
from scoring.features import FEATURE_NAMES, FEATURES
from scoring.model import (
    FORMAT_VERSION,
    MIN_REASON_LOGIT,
    MIN_REASON_PROBABILITY,
    REASON_CODES,
    Model,
    ModelError,
    Verdict,
    load_model,
    model_from_dict,
    model_from_json,
)

OBSERVED = datetime(2015, 2, 14, tzinfo=UTC)


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model()


def bought_follower() -> Account:
    return Account(
        platform="twitter",
        id="1",
        handle="xqzpt82738475",
        display_name="Laura",
        created_at=OBSERVED - timedelta(days=40),
        observed_at=OBSERVED,
        followers_count=3,
        following_count=4812,
        posts_count=0,
        likes_count=0,
        listed_count=0,
        has_default_avatar=True,
        has_banner=False,
    )


def genuine() -> Account:
    return Account(
        platform="twitter",
        id="2",
        handle="maria_rossi",
        display_name="Maria Rossi",
        bio="Journalist in Rome. Coffee, books, trains.",
        url="https://example.org",
        location="Roma",
        created_at=OBSERVED - timedelta(days=2500),
        observed_at=OBSERVED,
        followers_count=1850,
        following_count=410,
        posts_count=12000,
        likes_count=3100,
        listed_count=45,
        has_default_avatar=False,
        has_banner=True,
        verified=False,
    )


def hostile() -> list[Account]:
    far = datetime(9999, 1, 1, tzinfo=UTC)
    return [
        Account(platform="twitter", id="a"),
        Account(platform="x", id="b", followers_count=0, following_count=0, posts_count=0),
        Account(platform="twitter", id="c", followers_count=10**18, following_count=10**18),
        Account(platform="bluesky", id="d", created_at=far, observed_at=OBSERVED),
        Account(platform="twitter", id="e", created_at=OBSERVED, observed_at=far, posts_count=9),
        Account(platform="t", id="f", handle="\ud800\n", display_name="\u202e名前🙂" * 500),
        Account(platform="mastodon", id="g", handle="@", declared_bot=True, verified=True),
        Account.from_dict(
            {"platform": "instagram", "id": "h", "followers_count": 10**400, "bio_length": 10**400}
        ),
    ]


def test_packaged_artifact_loads_and_knows_its_features(model: Model) -> None:
    assert model.version.startswith("fa-")
    assert {t.feature for t in model.terms} <= set(FEATURE_NAMES)
    assert model.validation["loco"]["collections"]
    assert set(model.reason_labels) == {code for code, _ in REASON_CODES.values()}


def test_probabilities_are_finite_and_in_range_for_hostile_inputs(model: Model) -> None:
    p = model.predict_proba(hostile())
    assert p.shape == (8,)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    batch = model.score(hostile())
    assert [v.id for v in batch.verdicts] == list("abcdefgh")
    assert np.array_equal(batch.probabilities, p)


def test_empty_batch(model: Model) -> None:
    batch = model.score([])
    assert batch.probabilities.shape == (0,) and batch.verdicts == []


def test_contributions_reproduce_the_logit_and_probability(model: Model) -> None:
    accounts = [bought_follower(), genuine(), *hostile()]
    contrib = model.contributions(accounts)
    logits = model.logits(accounts)
    assert np.allclose(model.baselines(accounts) + contrib.sum(axis=1), logits)
    assert np.allclose(model.calibrate(logits), model.predict_proba(accounts))


def test_unknown_features_contribute_nothing(model: Model) -> None:
    contrib = model.contributions([Account(platform="instagram", id="1")])
    assert np.all(contrib == 0.0)


def test_bought_follower_scores_high_with_reasons_that_carry_its_values(model: Model) -> None:
    batch = model.score([bought_follower(), genuine()])
    fake, real = batch.verdicts
    assert fake.fake_probability > 0.8 > 0.2 > real.fake_probability
    assert fake.reasons and len(fake.reasons) == len(fake.reason_codes) <= 3
    assert "following 4,812, followed by 3" in fake.reasons
    # two features word this fact; whichever adds more names it
    assert {"follow_ratio", "mass_following_unreturned"} & set(fake.reason_codes)
    assert real.reasons == () and real.reason_codes == ()
    more = model.score([bought_follower()], max_reasons=8).verdicts[0].reasons
    assert "no posts in an account 40 days old" in more
    assert "handle ends in 8 digits" in more
    assert "no bio" in more


SAME_TEXT = {"follow_ratio", "mass_following_unreturned"}


def test_reasons_are_the_largest_contributions_in_order(model: Model) -> None:
    _assert_reasons_follow_contributions(model, [bought_follower(), genuine(), *hostile()])


def _assert_reasons_follow_contributions(model: Model, accounts: list[Account]) -> list[int]:
    """Each verdict's reasons are its largest contributions, in order; returns the positions
    of the verdicts that have reasons."""
    batch = model.score(accounts, max_reasons=5)
    contrib = model.contributions(accounts)
    codes = [REASON_CODES[f][0] for f in FEATURE_NAMES]
    explained: list[int] = []
    for i, (verdict, row) in enumerate(zip(batch.verdicts, contrib, strict=True)):
        if verdict.fake_probability < MIN_REASON_PROBABILITY:
            assert verdict.reasons == ()
            continue
        ranked = [codes[t] for t in np.argsort(-row, kind="stable") if row[t] >= MIN_REASON_LOGIT]
        # Two terms word the same fact ("following X, followed by Y"): only the first is named.
        expected: list[str] = []
        for code in ranked:
            if code in SAME_TEXT and SAME_TEXT & set(expected):
                continue
            expected.append(code)
        assert list(verdict.reason_codes) == expected[:5]
        assert len(set(verdict.reasons)) == len(verdict.reasons)
        if verdict.reasons:
            explained.append(i)
    return explained


def test_removing_the_top_reason_lowers_the_score(model: Model) -> None:
    acct = bought_follower()
    verdict = model.score([acct]).verdicts[0]
    top = verdict.reason_codes[0]
    feature = next(f for f, (code, _) in REASON_CODES.items() if code == top)
    fields = next(s.fields for s in FEATURES if s.name == feature)
    blanked = replace(acct, **{f: None for f in fields})
    assert model.predict_proba([blanked])[0] < verdict.fake_probability


def test_max_reasons_zero_and_verdict_dict(model: Model) -> None:
    v = model.score([bought_follower()], max_reasons=0).verdicts[0]
    assert v.reasons == () and v.fake_probability > 0.5
    out = Verdict("twitter", "1", "h", 0.75, ("r",), ("c",)).to_dict("fa-x")
    assert out == {
        "platform": "twitter",
        "id": "1",
        "handle": "h",
        "fake_probability": 0.75,
        "reasons": ["r"],
        "model_version": "fa-x",
    }


def test_artifact_round_trips(model: Model, tmp_path: Path) -> None:
    text = model.to_json()
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    again = load_model(path)
    assert again.to_json() == text
    accounts = [bought_follower(), genuine(), *hostile()]
    assert np.array_equal(again.predict_proba(accounts), model.predict_proba(accounts))
    assert json.loads(text)["format_version"] == FORMAT_VERSION


def _artifact(model: Model) -> dict:  # type: ignore[type-arg]
    return copy.deepcopy(model.to_dict())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format_version=FORMAT_VERSION + 1), "not supported"),
        (lambda d: d.pop("format_version"), "format_version"),
        (lambda d: d.update(format_version="1"), "format_version"),
        (lambda d: d["members"][0]["forest"].update(bias=float("nan")), "forest.bias"),
        (lambda d: d["members"][0]["forest"].update(bias="0.1"), "forest.bias"),
        (
            lambda d: d["members"][0]["forest"]["splits"][0].update(feature="shoe_size"),
            "unknown feature",
        ),
        (
            lambda d: d["members"][0]["forest"]["splits"][0].update(unknown="maybe"),
            "unknown: expected",
        ),
        (lambda d: d["members"][0]["forest"]["splits"][0].update(threshold=None), "threshold"),
        (
            lambda d: d["members"][0]["forest"]["splits"].append(
                d["members"][0]["forest"]["splits"][0]
            ),
            "twice",
        ),
        (lambda d: d["members"][0]["forest"]["trees"][0]["values"].pop(), "leaf values"),
        (lambda d: d["members"][0]["forest"]["trees"][0]["splits"].append(10**6), "index below"),
        (lambda d: d["members"][0]["forest"]["trees"][0].update(splits=[0] * 9), "1..8"),
        (lambda d: d.update(combine="mean"), "combine"),
        (
            lambda d: d["members"].append(
                {
                    "name": "z",
                    "temperature": 1.0,
                    "scope": "any",
                    "forest": {"bias": 0, "splits": [], "trees": []},
                }
            ),
            "at least one tree",
        ),
        (lambda d: d["members"][0].update(scope="some"), r"members\[0\]\.scope: expected"),
        (lambda d: d["members"][0].pop("scope"), r"members\[0\]\.scope: expected"),
        (
            lambda d: [m.update(scope="bare") for m in d["members"]],
            "at least one member must have scope 'any'",
        ),
        (lambda d: d.update(members=[]), "members: expected"),
        (lambda d: d["members"][0].update(temperature=0.0), "temperature: must be positive"),
        (lambda d: d["members"][0].update(name="a b"), "identifier"),
        (lambda d: d["members"].append(copy.deepcopy(d["members"][0])), "appears twice"),
        (
            lambda d: d["members"][0]["forest"]["trees"][0]["values"].__setitem__(0, "x"),
            "values\\[0\\]",
        ),
        (lambda d: d["members"][0].pop("forest"), r"members\[0\]\.forest: expected"),
        (lambda d: d["calibration"].update(a=-1.0), "calibration.a"),
        (lambda d: d["terms"][0].update(feature="shoe_size"), "unknown feature"),
        (lambda d: d["terms"][0]["knots"].reverse(), "strictly increase"),
        (lambda d: d["terms"][0]["values"].append(0.0), "differ in length"),
        (lambda d: d["terms"][0].update(knots=[0.0]), "2.."),
        (lambda d: d["terms"].append(copy.deepcopy(d["terms"][0])), "twice"),
        (lambda d: d.update(terms={}), "terms"),
        (lambda d: d.update(features=["log_followers", "nope"]), "unknown"),
        (lambda d: d.update(validation=[]), "validation"),
        (lambda d: d.update(kind="forest"), "kind"),
        (lambda d: d["validation"]["loco"]["pooled"].update(auc=1.5), "loco.pooled.auc"),
        (lambda d: d["validation"]["cv"]["pooled"]["hist_pos"].pop(), "21 numbers"),
        (lambda d: d["validation"].update(histogram_edges=[0.5, 0.2]), "histogram_edges"),
        (lambda d: d["validation"].pop("histogram_edges"), "20 numbers"),
        (lambda d: d["validation"]["cv"]["collections"].update(x={"n_pos": -1}), "n_pos"),
        (lambda d: d["validation"].update(views=[]), "views: expected an object"),
        (lambda d: d["validation"]["views"]["bluesky"].pop("known"), "bluesky.known"),
        (lambda d: d["validation"]["views"]["bluesky"]["known"].update(x=2), "not in"),
        (
            lambda d: d["validation"]["views"]["bluesky"]["cv"]["pooled"]["hist_neg"].pop(),
            "views.bluesky.cv.pooled.hist_neg",
        ),
    ],
)
def test_invalid_artifacts_are_refused_with_a_clear_message(
    model: Model, mutate: object, message: str
) -> None:
    data = _artifact(model)
    mutate(data)  # type: ignore[operator]
    with pytest.raises(ModelError, match=message):
        model_from_dict(data)


def test_corrupted_or_missing_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not valid JSON"):
        model_from_json('{"format_version": 1, "terms": [')
    with pytest.raises(ModelError, match="top level"):
        model_from_json("[1, 2]")
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ModelError):
        load_model(bad)


def test_importing_the_model_stays_light() -> None:
    code = (
        "import sys, scoring.model; "
        "heavy = [m for m in ('scipy', 'sklearn', 'pandas', 'aiohttp') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_counts_only_records_get_sensible_scores(model: Model) -> None:
    fake_like = Account(platform="instagram", id="1", followers_count=5, following_count=3000)
    real_like = Account(platform="instagram", id="2", followers_count=900, following_count=300)
    p = model.predict_proba([fake_like, real_like])
    assert p[0] > 0.5 > p[1]
    assert math.isfinite(float(p.sum()))


def test_platforms_without_training_data_get_sensible_scores(model: Model) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    person = Account(
        platform="bluesky",
        id="did:plc:person",
        handle="alice.bsky.social",
        display_name="Alice Martin",
        bio="Illustrator. Cats.",
        created_at=now - timedelta(days=400),
        observed_at=now,
        followers_count=300,
        following_count=200,
        posts_count=1500,
        has_default_avatar=False,
        has_banner=True,
    )
    fresh_fake = Account(
        platform="bluesky",
        id="did:plc:fake",
        handle="xk2938471.bsky.social",
        created_at=now - timedelta(days=3),
        observed_at=now,
        followers_count=0,
        following_count=900,
        posts_count=0,
        has_default_avatar=True,
        has_banner=False,
    )
    feed = Account(
        platform="mastodon",
        id="7",
        handle="news@botsin.space",
        display_name="News feed",
        created_at=now - timedelta(days=900),
        observed_at=now,
        followers_count=1200,
        following_count=0,
        posts_count=40000,
        has_banner=True,
        declared_bot=True,
    )
    p = model.predict_proba([person, fresh_fake, feed, replace(feed, declared_bot=False)])
    assert p[0] < 0.3 and p[1] > 0.9
    assert p[2] > 0.7 and p[2] > p[3]
    assert "says it is a bot" in model.score([feed]).verdicts[0].reasons


def test_random_partial_records_score_consistently(model: Model) -> None:
    rng = np.random.default_rng(11)
    now = datetime(2026, 1, 1, tzinfo=UTC)

    def maybe(value: Any) -> Any:
        return None if rng.random() < 0.3 else value

    accounts = [
        Account(
            platform=str(rng.choice(["twitter", "bluesky", "mastodon", "instagram", "x"])),
            id=str(i),
            handle=maybe(f"h{int(rng.integers(0, 10**6))}"),
            display_name=maybe("Some Name"),
            bio=maybe("b" * int(rng.integers(1, 200))),
            created_at=maybe(now - timedelta(days=int(rng.integers(-30, 6000)))),
            observed_at=maybe(now),
            followers_count=maybe(int(rng.integers(0, 10**7))),
            following_count=maybe(int(rng.integers(0, 10**5))),
            posts_count=maybe(int(rng.integers(0, 10**6))),
            likes_count=maybe(int(rng.integers(0, 10**6))),
            has_default_avatar=maybe(bool(rng.random() < 0.2)),
            has_banner=maybe(bool(rng.random() < 0.5)),
            verified=maybe(bool(rng.random() < 0.1)),
        )
        for i in range(2000)
    ]
    batch = model.score(accounts)
    p = batch.probabilities
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    assert np.allclose(p, model.predict_proba(accounts))
    assert np.allclose(model.calibrate(model.logits(accounts)), p)
    for v in batch.verdicts:
        assert set(v.reason_codes) <= set(model.reason_labels)
        assert all(v.reasons) and len(v.reasons) == len(v.reason_codes)
        if v.fake_probability < MIN_REASON_PROBABILITY:
            assert v.reasons == ()
    assert any(v.reasons for v in batch.verdicts)


def test_plausible_bluesky_people_without_a_banner_are_not_pushed_towards_fake(
    model: Model,
) -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    person = Account(
        platform="bluesky",
        id="did:plc:nobanner",
        handle="sam-ortiz.bsky.social",
        display_name="Sam Ortiz",
        bio="Teacher, hiker.",
        created_at=now - timedelta(days=600),
        observed_at=now,
        followers_count=90,
        following_count=160,
        posts_count=240,
        has_default_avatar=False,
        has_banner=False,
    )
    p_bsky, p_twitter = model.predict_proba([person, replace(person, platform="twitter")])
    assert p_bsky < 0.5
    assert p_bsky < p_twitter
    assert "no banner image" not in model.score([person], max_reasons=10).verdicts[0].reasons


def test_a_format_2_artifact_is_read_as_one_member() -> None:
    from scoring.features import extract_columns

    data = _artifact(load_model())
    first = data.pop("members")[0]
    data.pop("combine")
    data.pop("audit_member")
    data.update(format_version=2, forest=first["forest"])
    old = model_from_dict(data)
    assert [m.name for m in old.members] == ["all"] and old.members[0].temperature == 1.0
    assert old.audit_member is None and old.audit_validation is old.validation
    accounts = [bought_follower(), genuine(), *hostile()]
    _, x = extract_columns(accounts)
    a, b = old.calibration
    z = a * (old.members[0].forest.raw(x) + old.prior_logits(x)) + b
    assert np.allclose(old.predict_proba(accounts), 1 / (1 + np.exp(-z)))
    assert old.to_dict()["format_version"] == FORMAT_VERSION == 4


def test_a_format_3_artifact_has_every_member_speak_for_every_record() -> None:
    data = _artifact(load_model())
    data["format_version"] = 3
    for member in data["members"]:
        member["scope"] = "bare"  # format 3 had no scopes: whatever is written, it is not read
    old = model_from_dict(data)
    assert [m.scope for m in old.members] == ["any"] * len(old.members)


def test_a_member_of_scope_bare_speaks_only_for_records_without_a_profile() -> None:
    from scoring.features import extract_columns
    from scoring.model import PROFILE_FEATURES, Member, bare
    from scoring.views import VIEWS, as_seen_on

    counts = next(v for v in VIEWS if v.name == "counts")

    model = load_model()
    forest = model.members[0].forest
    # the same trees twice, the bare-only one at twice the temperature: it decides a bare record
    # whose logit is positive, and never one with a profile
    pair = Model(
        version="pair",
        members=[Member("a", forest, 1.0), Member("b", forest, 2.0, "bare")],
        terms=model.terms,
        calibration=model.calibration,
    )
    profiled = [bought_follower(), genuine()]
    # as a bare count export gives them (a record with a handle is a profile: no bio there is
    # an empty bio)
    counts_only = [as_seen_on(a, counts) for a in profiled]
    accounts = [*profiled, *counts_only]
    _, x = extract_columns(accounts)
    assert list(bare(x)) == [False, False, True, True]
    z = forest.raw(x)
    assert z[0] > 0 and z[2] > 0  # the bought follower looks fake either way
    won = pair.winners_from_features(x)
    assert list(won[:2]) == [0, 0]
    assert list(won[2:]) == [1 if v > 0 else 0 for v in z[2:]]
    raw = pair.raw_from_features(x)
    assert np.allclose(pair.baselines(accounts) + pair.contributions(accounts).sum(axis=1), raw)
    assert np.allclose(raw[:2], z[:2] + pair.prior_logits(x)[:2])
    # any one profile field known takes a record out of the bare scope
    for name in PROFILE_FEATURES:
        one = x[2:3].copy()
        one[0, FEATURE_NAMES.index(name)] = 0.0
        assert not bare(one)[0], name
    again = model_from_json(pair.to_json())
    assert [m.scope for m in again.members] == ["any", "bare"]
    assert np.array_equal(again.predict_proba(accounts), pair.predict_proba(accounts))
    with pytest.raises(ValueError, match="every record"):
        Model(version="x", members=[Member("b", forest, 1.0, "bare")], calibration=(1.0, 0.0))
    with pytest.raises(ValueError, match="scope"):
        Model(version="x", members=[Member("b", forest, 1.0, "some")], calibration=(1.0, 0.0))


def test_the_member_with_the_largest_tempered_logit_decides_and_explains() -> None:
    from scoring.features import extract_columns
    from scoring.model import Member

    model = load_model()
    forest = model.members[0].forest
    # the same trees twice, the second read at twice the temperature: it always wins where its
    # logit is positive, the first where it is negative
    pair = Model(
        version="pair",
        members=[Member("a", forest, 1.0), Member("b", forest, 2.0)],
        terms=model.terms,
        calibration=model.calibration,
    )
    accounts = [bought_follower(), genuine(), *hostile()]
    _, x = extract_columns(accounts)
    z = forest.raw(x)
    assert np.allclose(pair.member_logits(x), np.stack([z, 2 * z]))
    assert list(pair.winners_from_features(x)) == [1 if v > 0 else 0 for v in z]
    raw = pair.raw_from_features(x)
    contrib = pair.contributions(accounts)
    assert np.allclose(pair.baselines(accounts) + contrib.sum(axis=1), raw)
    won = pair.winners_from_features(x)
    single = forest.contributions(x)
    expected = np.where((won == 1)[:, None], 2 * single, single)
    expected[:, FEATURE_NAMES.index("declared_bot")] += pair.prior_logits(x)  # the fixed prior
    assert np.allclose(contrib, expected)
    # reasons follow the deciding member's (scaled) contributions
    batch = pair.score(accounts, max_reasons=3)
    fake = batch.verdicts[0]
    assert fake.fake_probability > 0.5 and fake.reasons
    again = model_from_json(pair.to_json())
    assert np.array_equal(again.predict_proba(accounts), pair.predict_proba(accounts))


def test_the_audit_member_scores_what_the_share_estimate_reads() -> None:
    from scoring.features import extract_columns
    from scoring.model import Member

    model = load_model()
    forest = model.members[0].forest
    validation = {"audit": {"note": "the audit member's histograms"}}
    pair = Model(
        version="pair",
        members=[Member("a", forest, 0.5), Member("b", forest, 2.0)],
        terms=model.terms,
        calibration=(1.0, 0.0),
        validation=validation,
        audit_member="a",
    )
    accounts = [bought_follower(), genuine(), *hostile()]
    _, x = extract_columns(accounts)
    expected = 1 / (1 + np.exp(-(0.5 * forest.raw(x) + pair.prior_logits(x))))
    assert np.allclose(pair.predict_audit(accounts), expected)
    batch = pair.score(accounts)
    assert batch.audit_probabilities is not None
    assert np.allclose(batch.audit_probabilities, expected)
    assert not np.allclose(batch.probabilities, expected)  # the ensemble's own scores differ
    assert pair.audit_validation == validation["audit"]
    with pytest.raises(ValueError, match="not a member"):
        Model(version="x", members=pair.members, calibration=(1.0, 0.0), audit_member="c")
    # an artifact naming an audit member must carry that member's histograms
    data = _artifact(model)
    data["audit_member"] = data["members"][0]["name"]
    data["validation"].pop("audit", None)
    with pytest.raises(ModelError, match=r"validation\.audit"):
        model_from_dict(data)


def _mixed_batch() -> list[Account]:
    """Profiles and bare count exports interleaved, fake and genuine, as one batch."""
    from scoring.views import VIEWS, as_seen_on

    counts = next(v for v in VIEWS if v.name == "counts")
    profiled = [bought_follower(), genuine(), *hostile()]
    out: list[Account] = []
    for a in profiled:
        out += [a, as_seen_on(a, counts)]
    return out


def test_one_scoring_pass_gives_exactly_what_the_separate_calls_give(model: Model) -> None:
    # Model.score scores each member only on the rows it speaks for, reuses the leaves of that
    # pass for the reasons and leaves the audit member's scores for later: none of it may
    # change a number
    from scoring.features import extract_columns
    from scoring.model import bare

    accounts = _mixed_batch()
    _, x = extract_columns(accounts)
    assert bare(x).any() and not bare(x).all()
    batch = model.score(accounts)
    assert np.array_equal(batch.probabilities, model.predict_proba(accounts))
    assert batch.audit_probabilities is not None
    assert np.array_equal(batch.audit_probabilities, model.predict_audit(accounts))
    # both members decide some of the explained rows, and the reasons are theirs
    won = model.winners_from_features(x)
    explained = _assert_reasons_follow_contributions(model, accounts)
    assert set(won[explained].tolist()) == {0, 1}
    # every member's logits, all rows, as training reads them: the one pass agrees
    z = model.member_logits(x)
    assert np.array_equal(
        model.raw_from_features(x), z[won, np.arange(len(accounts))] + model.prior_logits(x)
    )


def test_audit_probabilities_are_computed_once_and_only_when_read(model: Model) -> None:
    calls: list[int] = []
    batch = model.score(_mixed_batch())
    source = batch.audit_source
    assert source is not None

    def counted(view: str | None) -> Any:
        calls.append(1)
        return source(view)

    batch.audit_source = counted
    assert calls == []  # scoring alone never computed them
    first = batch.audit_probabilities
    second = batch.audit_probabilities
    assert calls == [1] and first is second


def test_forest_leaves_are_reused_exactly_and_checked(model: Model) -> None:
    from scoring.features import extract_columns

    forest = model.members[-1].forest
    _, x = extract_columns(_mixed_batch())
    raw, leaves = forest.raw_and_leaves(x)
    assert np.array_equal(raw, forest.raw(x))
    assert np.array_equal(leaves, forest.leaves(x))
    assert leaves.shape == (len(forest.trees), x.shape[0]) and leaves.dtype == np.uint8
    assert np.array_equal(forest.contributions(x, leaves), forest.contributions(x))
    # a scaled copy numbers its leaves alike and scales its logits
    scaled = forest.scaled(0.5)
    assert np.array_equal(scaled.leaves(x), leaves)
    assert np.allclose(scaled.raw(x), 0.5 * raw)
    with pytest.raises(ValueError, match="without contribution tables"):
        scaled.contributions(x)
    with pytest.raises(ValueError, match="one row per tree"):
        forest.contributions(x, leaves[:, :1])
