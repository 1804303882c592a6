"""The pure parts of the Telegram adapter and the neutral chat module: parsing, rendering within
Telegram's limits with every platform string escaped, button data, the report actions."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import pytest

from bot.chat.actions import report_actions, verdicts_csv
from bot.chat.buttons import ReportPress
from bot.chat.commands import CommandError, looks_like_handle, parse_audit_args
from bot.chat.state import JobRecord
from bot.chat.uploads import (
    UPLOAD_PLATFORM,
    UploadError,
    check_upload,
    drop_upload,
    load_upload,
    safe_name,
    store_upload,
)
from bot.pipeline.messages import (
    MAX_CHART_BYTES,
    AuditOutcome,
    AuditRequest,
    Progress,
    ReplyTo,
    UserError,
)
from bot.pipeline.report import Report
from bot.pipeline.service import Submission
from bot.settings import Settings
from bot.telegram import render
from bot.telegram.buttons import legacy_press, parse_callback, report_keyboard
from bot.telegram.format import utf16_len
from scoring.account import Account
from scoring.audit import render_html
from tests.fakes.telegram_api import parse_html
from tests.reports import long_report, make_report, report_dict, suspect

HOSTILE = "<b>x</b> & @everyone <a href='javascript:alert(1)'>"


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]


def valid(markup: str, limit: int = 4096) -> str:
    """Telegram's parse of the markup (raises like the API when invalid); checks the limit."""
    text, _ = parse_html(markup)
    assert utf16_len(text) <= limit
    return text


# ------------------------------------------------------------------ commands
def test_audit_args_sample_fresh_and_clamping(settings: Settings) -> None:
    cmd = parse_audit_args(["@Alice.bsky.social", "500", "fresh"], settings)
    assert (cmd.platform, cmd.handle, cmd.sample, cmd.fresh) == (
        "bluesky", "alice.bsky.social", 500, True)  # fmt: skip
    assert parse_audit_args(["x:jack", "999999"], settings).sample == settings.sample.max
    assert parse_audit_args(["x:jack"], settings).sample == settings.sample.default
    assert parse_audit_args(["@user@example.social"], settings).platform == "mastodon"


@pytest.mark.parametrize(
    "words",
    [[], ["https://evil.example/x"], ["x:jack", "lots"], ["a", "b", "c", "d"], ["bsky:\u202e.x"]],
)
def test_bad_commands_get_one_line_with_an_example(settings: Settings, words: list[str]) -> None:
    with pytest.raises(CommandError) as caught:
        parse_audit_args(words, settings)
    message = str(caught.value)
    assert "\n" not in message and "/audit bsky:alice.bsky.social" in message


def test_private_text_that_looks_like_a_handle() -> None:
    assert looks_like_handle("@alice.bsky.social")
    assert looks_like_handle("bsky:alice.bsky.social 300")
    assert not looks_like_handle("hello there how are you doing today")
    assert not looks_like_handle("   ")


# ------------------------------------------------------------------ rendering
def _request(handle: str = "alice.bsky.social") -> AuditRequest:
    return AuditRequest(user="u", chat="c", reply=ReplyTo("telegram", {"chat_id": 1}),
                        platform="bluesky", handle=handle, sample=100)  # fmt: skip


def test_first_answers_and_progress_never_state_a_grade() -> None:
    req = _request()
    queued = render.submission_html(Submission("queued", req, job_id="j", position=3))
    assert "position 3" in valid(queued)
    assert "joined" in valid(render.submission_html(Submission("coalesced", req, job_id="j")))
    refused = Submission("refused", req, refusal=UserError("user_rate", "Slow <down> & retry", 5))
    assert "Slow <down> & retry" in valid(render.submission_html(refused))
    fetching = valid(render.progress_html("bluesky", "alice.bsky.social",
                                          Progress("fetching", 400, 1000)))  # fmt: skip
    assert "fetching 400 of 1,000" in fetching and "Grade" not in fetching
    assert "▓" in fetching and "░" in fetching
    assert render.progress_bar(None, None, "scoring").count("▓") > render.progress_bar(
        400, 1000, "fetching"
    ).count("▓")


def _report_dict(n: int = 25, name: str = HOSTILE) -> dict[str, Any]:
    accounts = [suspect(i, reasons=[f"reason {HOSTILE} {i}"] * 3, display_name=name)
                for i in range(n)]  # fmt: skip
    subject = {**report_dict()["subject"], "display_name": name}
    return report_dict(
        subject=subject,
        suspicious=[{k: v for k, v in a.items() if k != "display_name"} for a in accounts[:5]],
        suspicious_more=accounts,
        flagged=300,
        reason_counts={f"kind {HOSTILE} {i}": 100 - i for i in range(40)},
    )


def _report(n: int = 25, name: str = HOSTILE) -> Report:
    return Report.from_dict(_report_dict(n, name))


def test_the_report_is_scorings_html_under_the_subjects_name() -> None:
    """Telegram renders the typed report at its edge: the text is ``render_html``'s."""
    report = _report()
    (part,) = render.report_parts(AuditOutcome(report=report))
    assert part.endswith("\n" + render_html(report.audit))
    assert part.startswith("👤 &lt;b&gt;x&lt;/b&gt; &amp; @\u200beveryone")


def test_report_parts_escape_the_subject_and_stay_within_limits() -> None:
    subject = {**report_dict()["subject"], "display_name": HOSTILE}
    outcome = AuditOutcome(report=long_report(subject=subject))
    parts = render.report_parts(outcome, note="From a cache <5 min> old")
    assert 1 < len(parts) <= render.MAX_PARTS
    texts = [valid(p) for p in parts]
    assert "<b>x</b> & @\u200beveryone" in texts[0]  # the display name, verbatim, mention broken
    assert "From a cache <5 min> old" in texts[0]
    error = AuditOutcome.failure("not_found", "No <such> account & co.")
    assert valid(render.report_parts(error)[0]) == "⚠️ No <such> account & co."


def test_more_accounts_and_reasons_are_escaped_and_linked() -> None:
    report = _report()
    parts = render.accounts_html(report, start=5)
    text = valid(parts[0])
    assert text.splitlines()[1].startswith("6. @u5.bsky.social")
    assert "javascript" not in "".join(parts).split("href=")[1].split(">")[0]
    urls = [e["url"] for p in parts for e in parse_html(p)[1] if e["type"] == "text_link"]
    assert urls[0] == "https://bsky.app/profile/u5.bsky.social" and len(urls) == 20
    assert len(parts) > 1 and all(valid(p) for p in parts)
    assert "No more" in valid(render.accounts_html(report, start=25)[0])
    reasons = render.reasons_html(report)
    assert all(valid(p) for p in reasons)
    assert "kind <b>x</b> & @\u200beveryone" in valid(reasons[0])
    assert "(33%)" in valid(reasons[0])  # 100 of 300 flagged


def test_chart_caption_and_png() -> None:
    caption = render.chart_caption(_report(name="n" * 4096))  # the longest name an account has
    assert "Grade C" in valid(caption, 1024) and "23% (19–27%)" in valid(caption, 1024)
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    ok = AuditOutcome(report=make_report(), chart=png)
    assert AuditOutcome.from_json(ok.to_json()).chart == png  # as base64 through Redis
    huge = b"\x89PNG" + bytes(MAX_CHART_BYTES)
    for bad in ("!!", base64.b64encode(b"GIF89a").decode(), base64.b64encode(huge).decode()):
        sent = {**ok.to_dict(), "attachments": {"chart.png": bad}}
        assert AuditOutcome.from_dict(sent).chart is None  # dropped; the report still shows


def test_an_inconclusive_grade_is_captioned_as_a_range() -> None:
    vague = {**_report_dict(), "grade": None, "grade_range": ["B", "F"]}
    vague["fake_share"] = {"estimate": 0.3, "low": 0.06, "high": 0.9, "method": "mixture"}
    caption = valid(render.chart_caption(Report.from_dict(vague)), 1024)
    assert "Grade B–F (inconclusive)" in caption and "Grade C" not in caption
    # a stored report from before grade_range: no letter, and no made-up range
    older = {k: v for k, v in _report_dict().items() if k != "grade_range"}
    assert "Grade" not in render.chart_caption(Report.from_dict({**older, "grade": None}))


# ------------------------------------------------------------------ buttons
def test_legacy_callback_data_is_small_and_checked() -> None:
    assert parse_callback("m:abcDEF12_-") == ("m", "abcDEF12_-")
    for bad in (
        None,
        "",
        "x:abcdefgh",
        "m:",
        "m:ab",
        "m:" + "a" * 30,
        "m:abc def1",
        "m:ab\u00e9cd",
        "fa:more:" + "a" * 32,
    ):
        assert parse_callback(bad) is None


async def test_a_legacy_button_is_read_until_its_record_expires(redis: Any) -> None:
    """Buttons sent before the one mechanism keep working while their record lives."""
    record = {"v": 1, "job_id": "job123", "platform": "bluesky", "handle": "alice.bsky.social",
              "sample": 1000, "shown": 5}  # fmt: skip
    await redis.set("t:tg:btn:abcDEF12_-", json.dumps(record), ex=60)
    found = await legacy_press(redis, "f:abcDEF12_-", prefix="t:")
    assert found == (ReportPress("redo", "job123"), JobRecord("bluesky", "alice.bsky.social", 1000))
    upload = {**record, "platform": UPLOAD_PLATFORM, "handle": "followers.csv"}
    await redis.set("t:tg:btn:upload1234", json.dumps(upload), ex=60)
    found = await legacy_press(redis, "c:upload1234", prefix="t:")
    assert found is not None and found[0] == ReportPress("csv", "job123") and found[1].upload
    await redis.set("t:tg:btn:other1234", json.dumps({**record, "v": 2}), ex=60)
    await redis.set("t:tg:btn:broken1", b"{not json")
    for gone in ("m:nosuchkey", "m:other1234", "m:broken1", "fa:more:job123", None):
        assert await legacy_press(redis, gone, prefix="t:") is None


def test_the_report_keyboard_carries_the_shared_button_data() -> None:
    job = "0123456789abcdef0123456789abcdef"
    rows = report_keyboard(job, rerun=True).inline_keyboard
    data = {b.text: b.callback_data for row in rows for b in row}
    assert data == {"More accounts": f"fa:more:{job}", "All reasons": f"fa:why:{job}",
                    "Verdicts CSV": f"fa:csv:{job}", "Re-run fresh": f"fa:redo:{job}"}  # fmt: skip
    assert all(len(str(d).encode()) <= 64 for d in data.values())
    assert [b.text for b in report_keyboard(job, rerun=False).inline_keyboard[1]] == [
        "Verdicts CSV"
    ]


# ------------------------------------------------------------------ report actions
@dataclass(frozen=True)
class V:
    platform: str
    id: str
    handle: str | None
    fake_probability: float
    reasons: tuple[str, ...]
    reason_codes: tuple[str, ...]


def test_report_actions_keep_25_accounts_and_every_verdict_for_the_csv() -> None:
    verdicts = [
        V("bluesky", f"id{i}", f"=cmd{i}.bsky.social" if i == 0 else f"h{i}.test",
          0.99 - i / 100 if i < 40 else 0.1, (f"reason {i}",), ("follow_ratio",))
        for i in range(60)
    ]  # fmt: skip
    accounts = [Account(platform="bluesky", id=f"id{i}", display_name=f"N{i}") for i in range(60)]
    actions = report_actions(verdicts, accounts)
    # through Redis and back, as the chats read it
    report = Report.from_dict(
        make_report(reason_counts={"b": 2, "a": 2, "c": 5}).to_dict() | actions.to_dict()
    )
    more = report.accounts
    assert len(more) == 25 and more[0].display_name == f"N{more[0].position}"
    assert report.reasons() == [("c", 5), ("a", 2), ("b", 2)]
    data, complete = verdicts_csv(report)
    lines = data.decode().splitlines()
    assert complete and len(lines) == 61
    assert lines[1].startswith("1,bluesky,id0,'=cmd0.bsky.social,https://bsky.app/profile/")
    assert lines[-1].endswith(",0.1000,no,reason 59")


def test_csv_without_stored_verdicts_lists_the_suspicious_accounts() -> None:
    data, complete = verdicts_csv(_report(n=7))
    assert not complete and len(data.decode().splitlines()) == 8
    only = {k: v for k, v in _report_dict(n=7).items() if k != "suspicious_more"}
    data, complete = verdicts_csv(Report.from_dict(only))  # a report without actions at all
    assert not complete and len(data.decode().splitlines()) == 6


# ------------------------------------------------------------------ uploads
def test_uploads_are_checked_before_download() -> None:
    check_upload("followers.csv", 1000, 5000)
    with pytest.raises(UploadError, match="limit"):
        check_upload("followers.csv", 6000, 5000)
    with pytest.raises(UploadError, match="CSV"):
        check_upload("photo.jpg", 10, 5000)
    assert safe_name("../../etc/passwd <x>.csv") == "etc_passwd_x_.csv"


async def test_upload_bytes_travel_by_reference(redis: Any) -> None:
    options = await store_upload(redis, b"a,b\n1,2\n", "my file.csv", prefix="t:", max_bytes=100)
    assert set(options) == {"upload", "name", "format"} and options["name"] == "my_file.csv"
    assert await redis.get(f"t:upload:{options['upload']}") == b"a,b\n1,2\n"
    assert await load_upload(redis, options, prefix="t:") == (b"a,b\n1,2\n", "my_file.csv", "auto")
    with pytest.raises(UploadError):
        await store_upload(redis, b"x" * 101, "big.csv", prefix="t:", max_bytes=100)
    await drop_upload(redis, options, prefix="t:")
    with pytest.raises(UploadError, match="expired"):
        await load_upload(redis, options, prefix="t:")


def test_the_token_is_redacted_from_every_log_record(settings: Settings) -> None:
    import io
    import logging

    from pydantic import SecretStr

    from bot.telegram.app import quiet_token_logs

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        settings.telegram.token = SecretStr("999:TOPSECRET")
        quiet_token_logs(settings)
        log = logging.getLogger("followaudit.test")
        log.warning("GET %s", "http://x/bot999:TOPSECRET/getMe")
        try:
            raise RuntimeError("Client error for url http://x/bot999:TOPSECRET/sendMessage")
        except RuntimeError:
            log.exception("failed")
    finally:
        root.removeHandler(handler)
    out = stream.getvalue()
    assert "TOPSECRET" not in out and out.count("<token>") >= 2 and "RuntimeError" in out
