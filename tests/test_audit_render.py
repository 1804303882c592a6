from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime

import numpy as np
import pytest

from scoring.account import Account
from scoring.audit import (
    AuditConfig,
    AuditReport,
    build_report,
    profile_url,
    render_html,
    render_json,
    render_markdown,
    render_text,
)
from tests.audit_support import SynthBatch, SynthVerdict, synth_audience, synth_validation

HOSTILE = ["<b>x</b>", "a&b", "@everyone", "**bold**", "[link](http://evil)", "@here <@123>"]
RENDERERS = [render_text, render_markdown, render_html]


def report_of(accounts: list[Account], batch: SynthBatch, **kw: object) -> AuditReport:
    return build_report(
        accounts,
        batch,
        model_version="fa-test-1",
        validation=synth_validation(),
        reason_labels={"follow_ratio": "lopsided <follow> ratio"},
        **kw,  # type: ignore[arg-type]
    )


def hostile_report() -> AuditReport:
    accounts, verdicts, probs = [], [], []
    for i, name in enumerate(HOSTILE * 5):
        accounts.append(Account(platform="bluesky", id=f"id{i}", handle=name))
        verdicts.append(
            SynthVerdict("bluesky", f"id{i}", name, 0.99, (f"bio says {name}",), ("follow_ratio",))
        )
        probs.append(0.99)
    return report_of(
        accounts, SynthBatch(np.asarray(probs), verdicts), subject="@everyone", total=10_000
    )


@pytest.mark.parametrize("render", RENDERERS)
def test_hostile_names_are_neutralised(render: object) -> None:
    out = render(hostile_report())  # type: ignore[operator]
    assert "@everyone" not in out and "@here" not in out and "<@123>" not in out
    if render is render_html:
        assert "<b>x</b>" not in out and "&lt;b&gt;x&lt;/b&gt;" in out
        assert "a&amp;b" in out and not re.search(r"&(?!amp;|lt;|gt;|quot;|#x27;)", out)
        assert "<follow>" not in out
    if render is render_markdown:
        assert "\\*\\*bold\\*\\*" in out and "**bold**" not in out
        assert "\\[link\\]\\(http\\://evil\\)" in out and "[link](http" not in out
    if render is render_text:
        assert "**bold**" in out  # plain text has no markup to break


def test_json_is_one_object_that_round_trips_hostile_strings() -> None:
    text = render_json(hostile_report())
    assert "<" not in text and ">" not in text and "&" not in text
    data = json.loads(text)
    assert {s["handle"] for s in data["suspicious"]} <= set(HOSTILE)
    assert data["subject"] == "@everyone"


def test_every_rendering_states_the_grade_once_with_intervals() -> None:
    labels = (np.random.default_rng(2).random(1000) < 0.25).astype(int)
    accounts, batch = synth_audience(labels)
    report = report_of(accounts, batch, total=48_210)
    for render in RENDERERS:
        out = render(report)
        assert len(re.findall(r"Grade [A-F]", out)) == 1
        assert re.search(r"Fake followers\\?: \d+% \\?\(\d+–\d+%\\?\)", out)
        assert "the 1,000 most recent of 48,210 followers" in out
        assert "fa" in out and "test" in out
        assert "bsky.app/profile/user" in out


def test_profile_links_per_platform() -> None:
    assert profile_url("bluesky", "a.bsky.social") == "https://bsky.app/profile/a.bsky.social"
    assert profile_url("mastodon", "bob@mastodon.social") == "https://mastodon.social/@bob"
    assert profile_url("mastodon", "bob") is None
    assert profile_url("mastodon", "bob@evil.com/x?") is None
    assert profile_url("x", "jack") == "https://x.com/jack"
    assert profile_url("twitter", "a b") == "https://x.com/a%20b"
    assert profile_url("bluesky", '"><script>') == "https://bsky.app/profile/%22%3E%3Cscript%3E"
    assert profile_url("instagram", None) is None
    assert profile_url("myspace", "tom") is None


def test_links_in_each_markup() -> None:
    accounts = [Account(platform="mastodon", id="1", handle="bob@mastodon.social")]
    batch = SynthBatch(
        np.asarray([0.95]),
        [SynthVerdict("mastodon", "1", "bob@mastodon.social", 0.95, ("r",), ("c",))],
    )
    report = report_of(accounts, batch)
    assert '<a href="https://mastodon.social/@bob">@bob@mastodon.social</a>' in render_html(report)
    assert "[@bob@mastodon.social](<https://mastodon.social/@bob>)" in render_markdown(report)
    assert "@bob@mastodon.social (https://mastodon.social/@bob)" in render_text(report)
    assert "Not enough data" in render_text(report)


def test_size_limits_drop_samples_not_the_message() -> None:
    labels = np.ones(300, dtype=int)
    accounts, batch = synth_audience(labels)
    report = report_of(accounts, batch, config=AuditConfig(samples=25))
    assert len(report.suspicious) == 25
    out = render_markdown(report, limit=1200)
    assert len(out) <= 1200 and "Grade " in out and "Model" in out
    assert len(render_markdown(report, limit=None)) > 1200


def test_empty_sample_renders_everywhere() -> None:
    report = report_of([], SynthBatch(np.zeros(0), []))
    assert report.grade is None and report.sample_size == 0
    for render in RENDERERS:
        out = render(report)
        assert "Grade A–F (inconclusive)" in out and "no followers" in out.lower()
    data = json.loads(render_json(report))
    assert data["fake_share"]["estimate"] is None and data["bursts"] == []
    assert data["grade"] is None and data["grade_range"] == ["A", "F"]


def test_inactive_line_only_where_data_says() -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    accounts = [
        Account(
            platform="x",
            id=str(i),
            handle=f"h{i}",
            observed_at=now,
            last_post_at=datetime(2025, 1, 1, tzinfo=UTC) if i % 2 else now,
        )
        for i in range(40)
    ]
    batch = SynthBatch(
        np.full(40, 0.1), [SynthVerdict("x", str(i), f"h{i}", 0.1) for i in range(40)]
    )
    out = render_text(report_of(accounts, batch))
    assert "Inactive (no post for 90+ days): 50% (" in out
    accounts2 = [Account(platform="x", id=str(i)) for i in range(40)]
    assert "Inactive" not in render_text(report_of(accounts2, batch))


def test_the_validation_view_is_named_when_it_is_not_the_full_records_one() -> None:
    labels = (np.random.default_rng(5).random(200) < 0.2).astype(int)
    accounts, batch = synth_audience(labels)
    report = report_of(accounts, batch)
    assert report.fake_share.view is None  # synthetic validation: no views
    bluesky = dataclasses.replace(
        report, fake_share=dataclasses.replace(report.fake_share, view="bluesky")
    )
    full = dataclasses.replace(
        report, fake_share=dataclasses.replace(report.fake_share, view="full")
    )
    for render in RENDERERS:
        assert re.search(r"mixture\\?-mle \\?\(bluesky view\\?\)", render(bluesky))
        assert " view" not in render(full) and " view" not in render(report)
    assert json.loads(render_json(bluesky))["fake_share"]["view"] == "bluesky"
