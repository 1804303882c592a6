"""``followaudit audit HANDLE``: exit codes, one-line errors, and the JSON contract (issue 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.cli import main
from bot.pipeline.report import Report
from tests.fakes._server import serve_in_thread
from tests.fakes.bluesky import FakeBluesky

#: The keys of ``followaudit audit --json``, in order (the README's contract: never changed).
AUDIT_KEYS = [
    "sample_size", "sample", "fake_share", "inactive_share", "inactive", "grade", "grade_range",
    "verdict", "suspicious", "flagged", "reason_counts", "bursts", "model_version", "subject",
    "platform", "observed_at", "requests", "skipped",
]  # fmt: skip
SAMPLE_KEYS = ["size", "total", "order", "description", "of"]
SUBJECT_KEYS = [
    "platform", "handle", "id", "display_name", "followers_count", "following_count",
    "posts_count", "created_at",
]  # fmt: skip

AUDIT_FILE_KEYS = {
    "sample_size",
    "fake_share",
    "inactive_share",
    "grade",
    "verdict",
    "suspicious",
    "reason_counts",
    "bursts",
    "model_version",
}


@pytest.fixture(autouse=True)
def quiet_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in (
        "FOLLOWAUDIT_X__BEARER_TOKEN",
        "FOLLOWAUDIT_BLUESKY__BASE_URL",
        "FOLLOWAUDIT_MASTODON__BASE_URL",
        "FOLLOWAUDIT_DEFAULT_PLATFORM",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOLLOWAUDIT_BLUESKY__BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("FOLLOWAUDIT_BLUESKY__MAX_RETRIES", "1")


@pytest.mark.parametrize(
    "handle", ["javascript:alert(1)", "https://bsky.app@evil.com/profile/x", "bsky:a\u202eb.test"]
)
def test_bad_handle_exits_2_with_one_line(handle: str, capsys) -> None:
    assert main(["audit", handle, "--json"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.count("\n") == 1 and "bsky:alice.bsky.social" in out.err


def test_bad_sample_exits_2(capsys) -> None:
    assert main(["audit", "bsky:alice.test", "--sample", "0"]) == 2
    assert "--sample" in capsys.readouterr().err


def test_x_without_a_token_exits_3_in_one_sentence(capsys) -> None:
    assert main(["audit", "x:jack"]) == 3
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.strip() == (
        "Auditing X accounts needs an X API bearer token in FOLLOWAUDIT_X__BEARER_TOKEN."
    )


def test_platform_errors_exit_3(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    fake = FakeBluesky()
    did = fake.add_account("gone.test")
    fake.taken_down.add(did)
    with serve_in_thread(fake) as base_url:
        monkeypatch.setenv("FOLLOWAUDIT_BLUESKY__BASE_URL", base_url)
        assert main(["audit", "bsky:nobody.test"]) == 3
        assert capsys.readouterr().err.strip().endswith("No Bluesky account has that handle.")
        assert main(["audit", "@gone.test", "--json"]) == 3
        out = capsys.readouterr()
        assert out.out == "" and "suspended" in out.err
        fake.fail("getFollowers", "503", times=5)
        assert main(["audit", "bsky:gone.test"]) == 3


def test_json_report_with_subject_and_sample(
    monkeypatch: pytest.MonkeyPatch, capsys, tmp_path
) -> None:
    pytest.importorskip("scoring.model")
    fake = FakeBluesky()
    did = fake.add_account("Alice.test", displayName="<b>Alice</b>")
    fake.add_followers(did, 260)
    with serve_in_thread(fake) as base_url:
        monkeypatch.setenv("FOLLOWAUDIT_BLUESKY__BASE_URL", base_url)
        chart = tmp_path / "chart.png"
        code = main(
            [
                "audit",
                "https://bsky.app/profile/Alice.test",
                "--sample",
                "200",
                "--json",
                "--chart",
                str(chart),
            ]
        )
    out = capsys.readouterr()
    assert code == 0, out.err
    report = json.loads(out.out)
    assert set(report) >= AUDIT_FILE_KEYS
    assert report["subject"]["platform"] == "bluesky"
    assert report["subject"]["handle"] == "alice.test"
    assert report["subject"]["id"] == did and report["subject"]["followers_count"] == 260
    assert report["sample"]["size"] == 200 and report["sample"]["of"] == 260
    assert report["sample"]["order"] == "newest_first"
    assert report["sample_size"] == 200
    assert list(report) == AUDIT_KEYS
    assert list(report["sample"]) == SAMPLE_KEYS and list(report["subject"]) == SUBJECT_KEYS
    assert Report.from_dict(report).to_dict() == report  # the typed report is this JSON
    assert "<b>" not in out.out  # platform strings are escaped in the JSON too
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "fetched 200 of 200 followers" in out.err


def test_an_unwritable_chart_costs_one_line_not_the_fetched_report(
    monkeypatch: pytest.MonkeyPatch, capsys, tmp_path
) -> None:
    """The followers were fetched: the report is printed, then one line says the chart failed."""
    pytest.importorskip("scoring.model")
    fake = FakeBluesky()
    fake.add_followers(fake.add_account("carol.test"), 60)
    chart = tmp_path / "absent" / "chart.png"
    with serve_in_thread(fake) as base_url:
        monkeypatch.setenv("FOLLOWAUDIT_BLUESKY__BASE_URL", base_url)
        code = main(["audit", "bsky:carol.test", "--json", "--chart", str(chart)])
    out = capsys.readouterr()
    assert code == 2
    assert json.loads(out.out)["sample"]["size"] == 60
    errors = [line for line in out.err.splitlines() if "--chart" in line]
    assert len(errors) == 1 and str(chart) in errors[0] and "report above is complete" in errors[0]
    assert "Traceback" not in out.err and not chart.exists()


def test_the_cli_does_not_load_network_code_until_audit_runs() -> None:
    code = (
        "import sys, bot.cli; bot.cli.build_parser(); "
        "print(any(m.startswith(('aiohttp', 'bot.sources')) for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_only_empty_pages_exit_3_not_a_report(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    fake = FakeBluesky()
    fake.add_account("empty.test", followersCount=500)  # the profile counts followers ...
    with serve_in_thread(fake) as base_url:  # ... that getFollowers never lists
        monkeypatch.setenv("FOLLOWAUDIT_BLUESKY__BASE_URL", base_url)
        assert main(["audit", "bsky:empty.test", "--json"]) == 3
    out = capsys.readouterr()
    assert out.out == ""
    assert "No grade" not in out.err
    assert out.err.strip().splitlines()[-1] == (
        "bsky:empty.test: the platform listed none of its 500 followers; nothing to audit."
    )


@pytest.mark.parametrize(
    ("name", "value", "command", "named"),
    [
        ("FOLLOWAUDIT_SAMPLE__DEFAULT", "abc", ["audit", "bsky:alice.test"], None),
        ("FOLLOWAUDIT_REDIS_URL", "notaurl", ["worker"], None),
        ("FOLLOWAUDIT_REDIS_URL", "notaurl", ["chat"], None),
        ("FOLLOWAUDIT_SAMPLE__DEFAULT", "abc", ["run"], None),
        ("FOLLOWAUDIT_LIMITS__PLATFORMS", "{not json", ["alerts", "run-due"], "FOLLOWAUDIT_LIMITS"),
    ],
)
def test_invalid_settings_exit_2_with_one_line_naming_the_setting(
    name: str, value: str, command: list[str], named: str | None, tmp_path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWAUDIT_")}
    env[name] = value
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *command],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"followaudit: invalid setting {named or name}: ")
    assert value not in line  # values may be secrets: named, never echoed


def test_paths_in_settings_expand_home_and_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import Settings

    monkeypatch.setenv("HOME", "/home/kim")
    monkeypatch.setenv("FA_DATA", "/srv/fa")
    monkeypatch.setenv("FOLLOWAUDIT_REDIS__DATA_DIR", "~/.local/share/followaudit/redis")
    assert Settings().redis.data_dir == "/home/kim/.local/share/followaudit/redis"
    monkeypatch.setenv("FOLLOWAUDIT_REDIS__DATA_DIR", "$FA_DATA/redis")
    assert Settings().redis.data_dir == "/srv/fa/redis"
