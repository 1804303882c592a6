"""``followaudit labels export``: exactly the agreed labels, in the shared account shape, the
left-out ones counted on stderr; the file reads back as training data."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.pipeline.resilience import connect
from bot.review import AuditedSample, Reviewer, ReviewService, ReviewStore
from bot.settings import ReviewSettings
from scoring.account import Account
from scoring.train import collection_of

ALICE, BOB = Reviewer("telegram", "1"), Reviewer("discord", "2")


async def _label(url: str) -> dict[str, int]:
    """Two reviews (Bluesky, Mastodon) labelled by two reviewers; the expected labels by id."""
    redis = connect(url)
    try:
        svc = ReviewService(ReviewStore(redis), ReviewSettings())
        expected: dict[str, int] = {}
        for platform in ("bluesky", "mastodon"):
            accounts = [
                Account(platform=platform, id=f"{platform}-{i}", handle=f"u{i}", posts_count=i)
                for i in range(10)
            ]
            sample = AuditedSample(
                platform, "subject", f"job-{platform}", "fa-test", accounts,
                [i / 10 for i in range(10)],
            )  # fmt: skip
            drawn = (await svc.start(sample, ALICE, is_admin=True, n=4)).session
            await svc.start(sample, BOB, is_admin=True)
            ids = [a.account.id for a in drawn.accounts]
            for i, (a, b) in enumerate(
                [("fake", "fake"), ("genuine", "unsure"), ("fake", "genuine"), ("unsure", None)]
            ):
                await svc.answer(drawn.review_id, ALICE, i, a, is_admin=True)
                if b is not None:
                    await svc.answer(drawn.review_id, BOB, i, b, is_admin=True)
            expected[ids[0]], expected[ids[1]] = 1, 0
        return expected
    finally:
        await redis.aclose()


def test_labels_export(
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FOLLOWAUDIT_REDIS_URL", redis_url)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    expected = asyncio.run(_label(redis_url))

    out = tmp_path / "labels.jsonl"
    assert main(["labels", "export", "--output", str(out)]) == 0
    err = capsys.readouterr().err
    assert "4 labelled accounts written" in err and "2 labelled both ways" in err
    assert "2 can't tell" in err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["id"]: r["label"] for r in rows} == expected
    for row in rows:
        account = Account.from_dict(row)
        assert account.source == f"review/{account.platform}" and collection_of(account) == "review"

    assert main(["labels", "export", "--platform", "mastodon"]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert {r["id"] for r in rows} == {k for k in expected if k.startswith("mastodon")}
    assert "2 labelled accounts written; left out: 1 labelled both ways" in captured.err

    assert main(["labels", "export", "--platform", "x"]) == 0
    assert capsys.readouterr().out == ""

    assert main(["labels", "export", "--output", str(tmp_path / "no" / "such" / "dir.jsonl")]) == 2
    assert "--output" in capsys.readouterr().err
