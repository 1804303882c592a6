"""The one audit use case (``bot.audit.usecase``) on the fake Bluesky AppView with the packaged
model: a fetch interrupted after a page resumes from its checkpoint, an unusable checkpoint means
a fresh read, a remembered sample makes the next audit read only the new followers, and the
typed result carries the report's JSON shape every caller prints or sends."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aiohttp
import pytest

from bot.audit.report import report_actions
from bot.audit.usecase import AuditUseCase
from bot.pipeline.report import Report
from bot.settings import Settings
from bot.sources import HTTP_HEADERS
from bot.sources.handles import Handle
from scoring.account import Account
from scoring.model import Model, load_model
from tests.fakes.bluesky import FakeBluesky

TARGET = Handle("bluesky", "target.test")


class Crash(Exception):
    """The process dying after a page was saved."""


class SavedState:
    """An in-memory checkpoint store (the pipeline keeps it in Redis); ``crash_after`` saves,
    the next one raises, as a worker killed mid-fetch."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.state: dict[str, Any] | None = None
        self.saves = 0
        self.crash_after = crash_after

    async def load(self) -> dict[str, Any] | None:
        return self.state

    async def save(self, state: dict[str, Any]) -> None:
        if self.crash_after is not None and self.saves >= self.crash_after:
            raise Crash
        self.state, self.saves = state, self.saves + 1


class Remembered:
    """An in-memory follower memory (the alerts keep theirs in Redis)."""

    def __init__(self) -> None:
        self.kept: dict[tuple[str, str], list[Account]] = {}

    async def recall(self, platform: str, handle: str) -> list[Account]:
        return list(self.kept.get((platform, handle), []))

    async def remember(self, platform: str, handle: str, followers: Sequence[Account]) -> None:
        self.kept[(platform, handle)] = list(followers)


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model(None)


@pytest.fixture
async def bsky() -> AsyncIterator[FakeBluesky]:
    async with FakeBluesky() as fake:
        fake.add_followers(fake.add_account(TARGET.handle), 350)
        yield fake


@pytest.fixture
async def audits(
    bsky: FakeBluesky, model: Model, make_settings: Callable[..., Settings]
) -> AsyncIterator[AuditUseCase]:
    settings = make_settings(bluesky={"base_url": bsky.base_url, "max_retries": 0})
    async with aiohttp.ClientSession(headers=HTTP_HEADERS) as session:
        yield AuditUseCase(session, settings, model)


async def test_an_interrupted_fetch_resumes_from_its_checkpoint(
    audits: AuditUseCase, bsky: FakeBluesky
) -> None:
    saved = SavedState(crash_after=2)
    with pytest.raises(Crash):
        await audits.run(TARGET, 300, checkpoint=saved)
    assert saved.state is not None and len(saved.state["followers"]) == 200
    pages = bsky.requests["getFollowers"]
    saved.crash_after = None
    audit = await audits.run(TARGET, 300, checkpoint=saved)
    assert bsky.requests["getFollowers"] - pages == 1  # only the page after the saved two
    assert len(audit.followers) == 300 and audit.read == 300
    assert audit.report.sample.size == 300


async def test_an_unusable_checkpoint_starts_the_fetch_again(
    audits: AuditUseCase, bsky: FakeBluesky
) -> None:
    saved = SavedState()
    saved.state = {"version": -1, "followers": "not a list"}
    audit = await audits.run(TARGET, 150, checkpoint=saved)
    assert len(audit.followers) == 150 and bsky.requests["getFollowers"] == 2
    assert saved.state is not None and len(saved.state["followers"]) == 150


async def test_a_remembered_sample_is_topped_up_with_the_new_followers_only(
    audits: AuditUseCase, bsky: FakeBluesky
) -> None:
    memory = Remembered()
    first = await audits.run(TARGET, 300, memory=memory)
    assert first.read == 300 and len(memory.kept[("bluesky", TARGET.handle)]) == 300
    bsky.add_followers(bsky.handles[TARGET.handle], 30, prefix="new")
    pages = bsky.requests["getFollowers"]
    again = await audits.run(TARGET, 300, memory=memory)
    assert bsky.requests["getFollowers"] - pages == 1 and again.read == 100
    handles = [a.handle for a in again.followers]
    assert len(handles) == 300 and all(h.startswith("new") for h in handles[:30])
    assert handles[30:] == [a.handle for a in first.followers][:270]


async def test_the_result_carries_the_reports_json_shape(audits: AuditUseCase) -> None:
    audit = await audits.run(TARGET, 120)
    data = audit.to_dict()
    assert data["subject"]["handle"] == TARGET.handle and data["subject"]["platform"] == "bluesky"
    assert data["sample"]["size"] == 120 and data["sample"]["of"] == 350
    assert data["sample"]["order"] == "newest_first" and data["sample_size"] == 120
    assert data["requests"] >= 2 and data["skipped"] == 0
    assert data["grade"] == audit.report.grade and len(audit.probabilities) == 120
    # the typed report is that JSON: read back, it writes the same object, key for key
    assert Report.from_dict(data).to_dict() == data
    assert json.dumps(Report.from_dict(data).to_dict()) == json.dumps(data)
    with_actions = dataclasses.replace(
        audit.to_report(), actions=report_actions(audit.scored.verdicts, audit.followers)
    )
    sent = json.loads(json.dumps(with_actions.to_dict()))  # as it crosses Redis
    assert Report.from_dict(sent).to_dict() == sent and len(sent["verdicts"]) == 120
    png = audit.chart_png()
    assert png is not None and png.startswith(b"\x89PNG")
