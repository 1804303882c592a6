"""The ``followaudit audit-file`` contract (issue 3): one JSON object on stdout, logs on stderr."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main

NOW = datetime(2026, 11, 28, tzinfo=UTC)
CONTRACT = {
    "sample_size",
    "fake_share",
    "inactive_share",
    "grade",
    "grade_range",
    "verdict",
    "suspicious",
    "reason_counts",
    "bursts",
    "model_version",
}


def write_followers(path: Path, n: int = 300) -> None:
    """Invented Bluesky-like followers, newest first; a bought-looking run in the middle."""
    lines = []
    for i in range(n):
        bought = 100 <= i < 200
        handle = "<b>@everyone</b>&**[x](http://evil)**" if i == 150 else f"f{i}.bsky.social"
        created = NOW - timedelta(days=2 + i % 3 if bought else 40 + (i * 37) % 2000)
        lines.append(
            json.dumps(
                {
                    "platform": "bluesky",
                    "id": f"did:plc:t{i}",
                    "handle": handle,
                    "display_name": None if bought else f"Person {i}",
                    "bio": None if bought else "I write about birds",
                    "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "observed_at": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "last_post_at": None
                    if bought
                    else (NOW - timedelta(days=i % 200)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "followers_count": 1 if bought else 100 + i,
                    "following_count": 4000 if bought else 150 + i,
                    "posts_count": 0 if bought else 500 + i,
                    "has_default_avatar": bought,
                    "has_banner": not bought,
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_bad_options_and_missing_files_exit_2_with_nothing_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit-file", str(tmp_path / "absent.jsonl"), "--json"]) == 2
    followers = tmp_path / "f.jsonl"
    write_followers(followers, 5)
    assert main(["audit-file", str(followers), "--json", "--samples", "26"]) == 2
    assert main(["audit-file", str(followers), "--json", "--format", "nope"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "absent.jsonl" in out.err and "--samples" in out.err


def test_the_cli_does_not_load_the_audit_until_it_runs() -> None:
    code = "import sys, bot.cli; print(any(m.startswith('scoring.audit') for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_json_contract_chart_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("scoring.model")
    followers = tmp_path / "followers.jsonl"
    write_followers(followers)
    chart = tmp_path / "chart.png"
    args = ["audit-file", str(followers), "--json", "--chart", str(chart), "--samples", "7"]
    assert main(args) == 0
    out = capsys.readouterr()
    data = json.loads(out.out)  # exactly one JSON object, nothing else
    assert isinstance(data, dict) and set(data) >= CONTRACT
    assert data["sample_size"] == 300
    share = data["fake_share"]
    assert set(share) >= {"estimate", "low", "high", "method"}
    assert 0.0 <= share["low"] <= share["estimate"] <= share["high"] <= 1.0
    best, worst = data["grade_range"]
    assert "ABCDF".index(best) <= "ABCDF".index(worst)
    assert data["grade"] in (None, *"ABCDF")
    if data["grade"] is not None:  # a firm grade lies in its range, which spans two at most
        assert best <= data["grade"] <= worst and "ABCDF".index(worst) - "ABCDF".index(best) <= 1
    assert 0.0 <= data["inactive_share"] <= 1.0
    assert len(data["suspicious"]) <= 7
    for s in data["suspicious"]:
        assert set(s) >= {"platform", "id", "handle", "fake_probability", "reasons"}
    for b in data["bursts"]:
        assert set(b) >= {"start", "end", "size", "fake_share", "created_from", "created_to"}
        assert 0 <= b["start"] <= b["end"] < 300 and b["size"] == b["end"] - b["start"] + 1
    assert isinstance(data["reason_counts"], dict) and data["model_version"]
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "read 300 followers" in out.err and "Grade" not in out.err

    assert main(["audit-file", str(followers), "--render", "html"]) == 0
    html = capsys.readouterr().out
    assert html.count("Grade ") == 1 and "<b>@everyone" not in html


def test_standard_input_and_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    followers = tmp_path / "followers.jsonl"
    write_followers(followers, 40)
    monkeypatch.setattr(sys, "stdin", io.StringIO(followers.read_text(encoding="utf-8")))
    assert main(["audit-file", "-", "--render", "markdown", "--total", "5000"]) == 0
    out = capsys.readouterr().out
    assert out.count("Grade ") == 1 and "the 40 most recent of 5,000 followers" in out
    assert "Fake followers\\: " in out  # Markdown: the colon is escaped


@pytest.mark.parametrize("text", ["", "\n\n", "[]"])
def test_an_empty_input_is_refused_like_score_refuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text(text, encoding="utf-8")
    assert main(["audit-file", str(empty), "--json"]) == 2
    assert main(["score", "--input", str(empty)]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("nothing to") == 2


def test_skipped_rows_exit_1_for_score_and_audit_file_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    followers = tmp_path / "followers.jsonl"
    write_followers(followers, n=40)
    good = followers.read_text(encoding="utf-8").splitlines()
    followers.write_text("\n".join([*good, "{not json", "[1, 2]"]) + "\n", encoding="utf-8")
    assert main(["audit-file", str(followers), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["sample_size"] == 40
    assert main(["score", "--input", str(followers)]) == 1
    junk = tmp_path / "junk.jsonl"
    junk.write_text("{not json\n[1, 2]\n", encoding="utf-8")
    assert main(["audit-file", str(junk)]) == 2
    assert main(["score", "--input", str(junk)]) == 2


def test_the_bundled_example_is_firm_and_right(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``make demo``: 42 genuine followers and a dump of 18 bought ones at positions 20-37."""
    example = Path(__file__).resolve().parents[1] / "config" / "examples" / "followers.jsonl"
    rows = [json.loads(line) for line in example.read_text(encoding="utf-8").splitlines()]
    dump = [i for i, r in enumerate(rows) if not r["bio"] and r["posts_count"] == 0]
    assert (len(rows), dump[0], dump[-1], len(dump)) == (60, 20, 37, 18)
    chart = tmp_path / "chart.png"
    args = ["audit-file", str(example), "--json", "--subject", "@demo.example"]
    assert main([*args, "--chart", str(chart)]) == 0
    data = json.loads(capsys.readouterr().out)
    share = data["fake_share"]
    assert share["view"] == "bluesky"  # Bluesky profiles: no likes, lists, link, location
    # firm, and right: the truth (18 of 60) inside an interval of one grade band or two
    assert share["method"] == "mixture-mle" and data["grade"] == "D"
    assert share["low"] <= 18 / 60 <= share["high"] and share["high"] - share["low"] <= 0.2
    assert data["grade_range"][0] == "D"
    ((start, end),) = [(b["start"], b["end"]) for b in data["bursts"]]
    assert abs(start - 20) <= 2 and abs(end - 37) <= 2
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_the_genuine_part_of_the_example_gets_no_false_alarm(tmp_path: Path) -> None:
    """The example without its dump: no burst, no flagged majority, and no letter worse than
    the truth allows (42 followers may be too few for one)."""
    from scoring.audit import audit_accounts
    from scoring.loaders import load_accounts
    from scoring.model import load_model

    example = Path(__file__).resolve().parents[1] / "config" / "examples" / "followers.jsonl"
    lines = example.read_text(encoding="utf-8").splitlines()
    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(lines[:20] + lines[38:]) + "\n", encoding="utf-8")
    with clean.open(encoding="utf-8") as handle:
        accounts = load_accounts(handle, "auto").accounts
    report = audit_accounts(accounts, load_model())
    assert report.bursts == () and report.grade_range[0] == "A"
    assert report.fake_share.low == 0.0 and report.grade in (None, "A")


def test_an_unwritable_chart_costs_one_line_not_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    followers = tmp_path / "followers.jsonl"
    write_followers(followers)
    chart = tmp_path / "absent" / "chart.png"
    assert main(["audit-file", str(followers), "--json", "--chart", str(chart)]) == 2
    out = capsys.readouterr()
    assert json.loads(out.out)["sample_size"] == 300  # the report is printed all the same
    errors = [line for line in out.err.splitlines() if "--chart" in line]
    assert len(errors) == 1 and str(chart) in errors[0] and "Traceback" not in out.err
    assert not chart.exists()


def test_the_chart_is_titled_with_the_subject_grade_and_share(tmp_path: Path) -> None:
    from scoring.audit import audit_accounts, chart_title
    from scoring.loaders import load_accounts
    from scoring.model import load_model

    followers = tmp_path / "followers.jsonl"
    write_followers(followers)
    with followers.open(encoding="utf-8") as handle:
        accounts = load_accounts(handle, "auto").accounts
    report = audit_accounts(accounts, load_model(), subject="@alice.example")
    title = chart_title(report)
    assert title.startswith("@alice.example: ") and title.endswith(" fake")
    assert report.grade_label in title
    assert (f"Grade {report.grade}," if report.grade else " (inconclusive),") in title
    assert f"{round(100 * (report.fake_share.estimate or 0))}%" in title
