"""``python -m scoring.train --extra FILE ...``: each extra labelled file is its own collection,
in training and in every figure printed; without it nothing changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scoring.account import Account
from scoring.model import model_from_json
from scoring.train import as_collection, collection_of, main
from tests.test_train import synthetic


def _write(path: Path, accounts: list[Account]) -> Path:
    path.write_text("".join(json.dumps(a.to_dict()) + "\n" for a in accounts), encoding="utf-8")
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "accounts"
    folder.mkdir()
    accounts = synthetic(n_per=30)
    for name in ("alpha", "beta"):
        _write(folder / f"{name}.jsonl", [a for a in accounts if collection_of(a) == name])
    return folder


def _review_export(path: Path) -> Path:
    """Rows as ``followaudit labels export`` writes them: Bluesky accounts, source review/..."""
    rows = []
    for i, a in enumerate(synthetic(n_per=12, seed=9)[:48]):
        rows.append({**a.to_dict(), "platform": "bluesky", "id": f"did:plc:{i}",
                     "source": "review/bluesky"})  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_extra_files_are_collections_in_every_figure(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = _review_export(tmp_path / "review-bluesky.jsonl")
    out = tmp_path / "model.json"
    assert main(["--data", str(data), "--extra", str(extra), "--no-reference",
                 "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr()
    assert "extra:review-bluesky (review-bluesky.jsonl: 24 fake, 24 genuine)" in printed.err
    # a row in each view's table (full, bluesky, counts), with its 48 accounts
    rows = [line.split() for line in printed.out.splitlines() if "extra:review-bluesky" in line]
    assert len(rows) == 3 and all(r[1] == "48" for r in rows)
    model = model_from_json(out.read_text(encoding="utf-8"))
    v = model.validation
    name = "extra:review-bluesky"
    assert name in v["cv"]["collections"] and name in v["loco"]["collections"]
    assert name in v["views"]["counts"]["loco"]["collections"]
    assert name in v["reliability"]["collections"]["cv"]
    assert model.training["collections"][name] == {"n_pos": 24, "n_neg": 24}
    assert model.training["extra"][name]["file"] == "review-bluesky.jsonl"
    assert set(model.training["files"]) == {"alpha.jsonl", "beta.jsonl"}


def test_without_extra_nothing_is_added(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model.json"
    assert main(["--data", str(data), "--no-reference", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "extra:" not in printed.out and "extra files" not in printed.err
    model = model_from_json(out.read_text(encoding="utf-8"))
    assert "extra" not in model.training
    assert set(model.training["collections"]) == {"alpha", "beta"}


def test_extra_files_that_cannot_be_used_are_refused(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unlabelled = tmp_path / "unlabelled.jsonl"
    unlabelled.write_text('{"platform": "bluesky", "id": "1"}\n', encoding="utf-8")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"platform": "bluesky", "id": "1", "label": 1}\n{oops\n', encoding="utf-8")
    for path, said in (
        (unlabelled, "unlabelled.jsonl, line 1: no label"),
        (broken, "broken.jsonl, line 2"),
        (tmp_path / "absent.jsonl", "absent.jsonl"),
    ):
        assert main(["--data", str(data), "--extra", str(path), "--no-reference"]) == 2
        assert said in capsys.readouterr().err


def test_collection_names_stay_apart() -> None:
    accounts = [Account(platform="bluesky", id="1", label=1, source="review/bluesky")]
    renamed = as_collection(accounts, "extra:alpha")
    assert collection_of(renamed[0]) == "extra:alpha"
    assert renamed[0].source == "extra:alpha/review/bluesky"
    with pytest.raises(ValueError):
        as_collection(accounts, "a/b")
