"""``followaudit score`` end to end, as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "examples" / "followers.jsonl"


def score(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "score", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_one_verdict_per_account_in_input_order() -> None:
    result = score("--input", str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    ids = [json.loads(line)["id"] for line in EXAMPLE.read_text().splitlines()]
    assert [r["id"] for r in rows] == ids
    for row in rows:
        assert set(row) == {
            "platform",
            "id",
            "handle",
            "fake_probability",
            "reasons",
            "model_version",
        }
        assert 0.0 <= row["fake_probability"] <= 1.0
        assert all(isinstance(reason, str) and reason for reason in row["reasons"])
    # The example's dump (positions 20-37) is what a user would call fake; most of the rest is not.
    dump = [r["fake_probability"] for r in rows[20:38]]
    rest = sorted(r["fake_probability"] for r in rows[:20] + rows[38:])
    assert min(dump) > 0.9
    assert rest[len(rest) // 2] < 0.5
    assert all(r["reasons"] for r in rows[20:38])


def test_stdin_to_file_and_skipped_rows_are_listed(tmp_path: Path) -> None:
    good = {"platform": "bluesky", "id": "did:plc:a", "handle": "a.example", "followers_count": 3}
    text = json.dumps(good) + "\n{broken\n" + json.dumps({**good, "id": "did:plc:b"}) + "\n"
    out = tmp_path / "verdicts.jsonl"
    result = score("--output", str(out), stdin=text)
    assert result.returncode == 1
    assert "line 2" in result.stderr
    assert "skipped 1" in result.stderr
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [
        "did:plc:a",
        "did:plc:b",
    ]


def test_unusable_input_exits_2_with_a_message(tmp_path: Path) -> None:
    missing = score("--input", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2
    assert "nope.jsonl" in missing.stderr
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02garbage\xff")
    garbage = score("--input", str(binary))
    assert garbage.returncode == 2
    assert garbage.stderr.strip()
    assert garbage.stdout == ""


def test_explicit_format_reads_api_payloads() -> None:
    profile = {
        "did": "did:plc:zz",
        "handle": "zed.example",
        "displayName": "Zed",
        "followersCount": 12,
        "followsCount": 30,
        "postsCount": 4,
        "createdAt": "2024-01-01T00:00:00Z",
        "indexedAt": "2024-06-01T00:00:00Z",
    }
    result = score("--format", "bluesky", stdin=json.dumps({"profiles": [profile]}))
    assert result.returncode == 0, result.stderr
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["handle"] == "zed.example"
    assert row["platform"] == "bluesky"


def test_poisoned_rows_are_skipped_not_a_traceback(tmp_path: Path) -> None:
    good = {"platform": "bluesky", "id": "did:plc:a", "handle": "a.example", "followers_count": 3}
    poisoned = [
        json.dumps(good),
        json.dumps(good)[:-1] + ', "followers_count": ' + "9" * 5000 + "}",
        json.dumps({**good, "created_at": "9999-12-31T23:59:59-14:00"}),
        json.dumps({**good, "id": "did:plc:b"}).replace("a.example", "\\ud800"),
    ]
    path = tmp_path / "poisoned.jsonl"
    path.write_text("\n".join(poisoned) + "\n", encoding="utf-8")
    result = score("--input", str(path))
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr
    assert "skipped line 2: followers_count" in result.stderr
    assert "skipped line 3: created_at" in result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [
        "did:plc:a",
        "did:plc:b",
    ]
    audit = subprocess.run(
        [sys.executable, "-m", "bot.cli", "audit-file", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in audit.stderr
    assert audit.returncode == 1, audit.stderr  # the same rule as score: rows were skipped
    assert "line 2 skipped" in audit.stderr
    assert json.loads(audit.stdout)["sample_size"] == 2


def test_skipped_rows_are_counted_but_only_the_first_are_kept() -> None:
    from bot.commands.score import MAX_LISTED_ERRORS, Skipped, _batches
    from scoring.loaders import RowError, iter_accounts

    junk = "\n".join(f'{{"junk": {i}' for i in range(10 * MAX_LISTED_ERRORS))
    skipped = Skipped()
    good = '{"platform": "bluesky", "id": "a"}\n'
    batches = list(_batches(iter_accounts(good + junk), skipped))
    assert [a.id for batch in batches for a in batch] == ["a"]
    assert skipped.count == 10 * MAX_LISTED_ERRORS
    assert len(skipped.listed) == MAX_LISTED_ERRORS  # bounded, however long the junk
    assert all(isinstance(e, RowError) for e in skipped.listed)
    assert [e.line for e in skipped.listed[:2]] == [2, 3]


def test_each_verdict_line_is_exactly_what_json_dumps_writes() -> None:
    import json

    from bot.commands.score import verdict_line
    from scoring.model import Verdict

    nasty = ['"quoted"', "back\\slash", "new\nline", "\u202e名前🙂", "\x00\x1f", "", "\ud800"]
    probabilities = [0.1, 1e-300, 0.123456789012345, 2 / 3, 5e-324, 0.5, 1 - 1e-16]
    verdicts = [
        Verdict("twitter", "1", None, 0.0, (), ()),
        Verdict("bluesky", "did:plc:x", "a.bsky.social", 1.0, ("r1", "r2"), ("c", "d")),
        *(
            Verdict(s, s, s, p, (s, s + "x"), ("c", "c"))
            for s, p in zip(nasty, probabilities, strict=True)
        ),
    ]
    for v in verdicts:
        for version in ("fa-2026.12.07-1", 'odd"version'):
            assert verdict_line(v, json.dumps(version)) == json.dumps(
                v.to_dict(version), ensure_ascii=False
            )
