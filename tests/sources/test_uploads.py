"""Uploaded exports: formats, bounds, unreadable rows counted and reported."""

from __future__ import annotations

import json

import pytest

from bot.sources.errors import BadUpload
from bot.sources.uploads import ORDER, read_upload
from tests.sources.conftest import make_settings


def neutral(i: int, **extra: object) -> dict[str, object]:
    return {
        "platform": "instagram",
        "id": str(i),
        "handle": f"user{i}",
        "followers_count": i,
        "following_count": 100,
        "posts_count": 3,
        **extra,
    }


async def test_json_lines_with_bad_rows() -> None:
    lines = [json.dumps(neutral(i)) for i in range(5)]
    lines.insert(2, "{not json")
    lines.append(json.dumps({"platform": "instagram", "id": "9", "followers_count": -4}))
    result = await read_upload("\n".join(lines).encode(), make_settings(), name="my export.jsonl")
    assert [a.id for a in result.followers] == ["0", "1", "2", "3", "4"]
    assert result.skipped == 2 and len(result.problems) == 2
    assert result.problems[0].startswith("line 3:")
    assert result.followers_total == 7 and result.complete
    assert result.order == ORDER and result.requests == 0
    assert result.handle.platform == "instagram" and result.handle.handle == "my_export.jsonl"
    assert (len(result.followers), result.followers_total, result.order) == (5, 7, ORDER)


async def test_csv_and_json_array() -> None:
    csv = "platform,id,handle,followers_count\ninstagram,1,a,5\ninstagram,2,b,7\n"
    assert len((await read_upload(csv.encode(), make_settings())).followers) == 2
    array = json.dumps([neutral(i) for i in range(3)]).encode()
    assert len((await read_upload(array, make_settings())).followers) == 3


async def test_platform_export_format() -> None:
    """A raw Mastodon API dump reads through the loaders' Mastodon mapper."""
    rows = [
        {
            "id": str(i),
            "username": f"u{i}",
            "acct": f"u{i}@ex.social",
            "bot": i == 0,
            "followers_count": 1,
            "following_count": 2,
            "statuses_count": 3,
        }
        for i in range(3)
    ]
    result = await read_upload(json.dumps(rows).encode(), make_settings())
    assert result.handle.platform == "mastodon"
    assert result.followers[0].declared_bot is True


async def test_size_and_row_bounds() -> None:
    settings = make_settings(uploads={"max_bytes": 2048, "max_rows": 10})
    with pytest.raises(BadUpload, match="too large"):
        await read_upload(b"x" * 2049, settings)
    data = "\n".join(json.dumps(neutral(i)) for i in range(20)).encode()
    settings = make_settings(uploads={"max_rows": 10})
    result = await read_upload(data, settings)
    assert len(result.followers) == 10 and not result.complete
    assert result.followers_total is None and result.skipped == 0
    assert any("stopped" in p for p in result.problems)
    assert len((await read_upload(data, make_settings(), sample=4)).followers) == 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
        (b"{not json at all", "read"),
        (b'"just a string"', "read"),
    ],
)
async def test_unreadable_files(data: bytes, message: str) -> None:
    with pytest.raises(BadUpload, match=message):
        await read_upload(data, make_settings())


async def test_hostile_file_name_is_reduced() -> None:
    data = json.dumps([neutral(1)]).encode()
    result = await read_upload(data, make_settings(), name="../../etc/<script>\u202e.csv")
    assert result.handle.handle == "etc_script_.csv"


async def test_a_poisoned_row_is_skipped_and_reported() -> None:
    lines = [json.dumps(neutral(i)) for i in range(3)]
    lines.insert(1, json.dumps(neutral(7))[:-1] + ', "followers_count": ' + "9" * 5000 + "}")
    result = await read_upload("\n".join(lines).encode(), make_settings())
    assert len(result.followers) == 3 and result.skipped == 1
    assert result.problems[0].startswith("line 2: followers_count")
