"""Loaders: formats, auto-detection, per-row errors with line numbers, real rows, payloads."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from scoring.account import MAX_TEXT, Account, AccountError
from scoring.loaders import (
    FORMATS,
    MAX_LINE,
    LoadError,
    RowError,
    iter_accounts,
    load_accounts,
)
from scoring.loaders.bluesky import account_from_bluesky
from scoring.loaders.mastodon import account_from_mastodon
from scoring.loaders.twitter_v1 import account_from_twitter_v1
from scoring.loaders.x_v2 import account_from_x
from tests.payloads import (
    BLUESKY_BOT_DID,
    BLUESKY_DETAILED,
    BLUESKY_FOLLOWERS,
    MASTODON_ACCOUNT,
    MASTODON_BOT,
    X_FOLLOWERS,
)

SEEN = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def neutral(ident: str, **fields: object) -> str:
    return json.dumps({"platform": "twitter", "id": ident, **fields}, ensure_ascii=False)


def test_public_names() -> None:
    import scoring.loaders as loaders

    assert FORMATS == ("auto", "accounts", "twitter-v1", "x-v2", "bluesky", "mastodon", "instafake")
    assert {"iter_accounts", "load_accounts", "RowError", "LoadError", "LoadResult"} <= set(
        loaders.__all__
    )


# -- neutral JSON Lines ----------------------------------------------------------------------


def test_json_lines_bad_rows_are_reported_with_their_line_and_the_rest_loads() -> None:
    lines = [
        neutral("1", followers_count=5),
        "",  # blank lines are skipped, still counted
        '{"platform": "twitter", "id": "2", "followers_count": ',  # bad JSON
        neutral("3", followers_count=-4),  # negative count
        neutral("4", following_count="many"),  # wrong type
        json.dumps({"platform": "twitter", "handle": "noid"}),  # missing id
        "[1, 2]",  # not objects
        neutral("5", display_name="Zoë 🌸 Ångström", handle="@zoe"),
        '{"platform": "twitter", "id": "6"',  # truncated last line, no newline
    ]
    result = load_accounts("\n".join(lines))
    assert [a.id for a in result.accounts] == ["1", "5"]
    assert result.accounts[1].display_name == "Zoë 🌸 Ångström"
    assert result.accounts[1].handle == "zoe"
    assert result.format == "accounts"
    assert [e.line for e in result.errors] == [3, 4, 5, 6, 7, 7, 9]
    by_line = {e.line: e.message for e in result.errors if e.line != 7}
    assert "invalid JSON" in by_line[3]
    assert "negative count -4" in by_line[4]
    assert "following_count" in by_line[5] and "whole number" in by_line[5]
    assert by_line[6].startswith("id:")
    assert [e.message for e in result.errors if e.line == 7] == [
        "item 1: expected a JSON object, got a number",
        "item 2: expected a JSON object, got a number",
    ]
    assert "truncated" in by_line[9]


def test_a_huge_line_is_one_row_error_and_reading_goes_on() -> None:
    huge = neutral("2", bio="x" * (MAX_LINE + 10))
    text = "\n".join([neutral("1"), huge, neutral("3")]) + "\n"
    for source in (io.StringIO(text), text.splitlines(keepends=True)):
        result = load_accounts(source)
        assert [a.id for a in result.accounts] == ["1", "3"]
        assert [(e.line, "longer than 1 MiB" in e.message) for e in result.errors] == [(2, True)]


def test_deeply_nested_json_is_a_row_error_not_a_crash() -> None:
    deep = '{"platform": "twitter", "id": "2", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    result = load_accounts("\n".join([neutral("1"), deep, neutral("3")]))
    assert [a.id for a in result.accounts] == ["1", "3"]
    assert [e.line for e in result.errors] == [2]


def test_text_is_bounded_and_nul_bytes_removed() -> None:
    result = load_accounts(neutral("1", bio="a\x00" * 10_000))
    (acc,) = result.accounts
    assert acc.bio == "a" * MAX_TEXT


def test_default_observed_at_fills_only_rows_without_one() -> None:
    text = "\n".join([neutral("1"), neutral("2", observed_at="2015-02-14T09:54:49Z")])
    got = {a.id: a.observed_at for a in load_accounts(text, observed_at=SEEN).accounts}
    assert got == {"1": SEEN, "2": datetime(2015, 2, 14, 9, 54, 49, tzinfo=UTC)}
    unset = {a.id: a.observed_at for a in load_accounts(text).accounts}
    assert unset["1"] is None
    # the API mappers take it too
    x = load_accounts(json.dumps(X_FOLLOWERS), observed_at=SEEN).accounts
    assert {a.observed_at for a in x} == {SEEN}


def test_iter_accounts_streams_in_input_order() -> None:
    items = list(iter_accounts(io.StringIO(neutral("a") + "\nnot json\n" + neutral("b") + "\n")))
    assert [type(i).__name__ for i in items] == ["Account", "RowError", "Account"]
    assert isinstance(items[1], RowError) and items[1].line == 2


def test_max_rows_stops_and_says_so() -> None:
    text = "\n".join(neutral(str(i)) for i in range(10))
    result = load_accounts(text, max_rows=3)
    assert [a.id for a in result.accounts] == ["0", "1", "2"]
    assert len(result.errors) == 1 and "max_rows" in result.errors[0].message
    assert result.errors[0].line == 4


# -- whole-input problems ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "hello world, this is prose\nand more prose\n",
        "just one line",
        "\x00\x01\x02\x03binary\x00\x00",
        "".join(chr(c) for c in range(1, 32)) * 20,
        "a,b,c\n1,2,3\n",  # CSV, but no known column
    ],
)
def test_unusable_input_raises_load_error(text: str) -> None:
    with pytest.raises(LoadError):
        load_accounts(text)


def test_unknown_format_name_raises_load_error() -> None:
    with pytest.raises(LoadError, match="unknown format"):
        load_accounts(neutral("1"), format="myspace")


def test_non_utf8_bytes_raise_load_error() -> None:
    stream = io.TextIOWrapper(io.BytesIO(b'{"platform": "x", "id": "\xff\xfe"}\n'), "utf-8")
    with pytest.raises(LoadError, match="UTF-8"):
        load_accounts(stream)


def test_empty_input_is_no_accounts() -> None:
    result = load_accounts("\n\n  \n")
    assert result.accounts == [] and result.errors == []


# -- JSON documents ---------------------------------------------------------------------------


def test_json_array_errors_use_record_numbers() -> None:
    records = [
        {"platform": "twitter", "id": "1"},
        {"platform": "twitter", "id": "2", "followers_count": -1},
        {"platform": "twitter", "id": "3"},
    ]
    result = load_accounts(json.dumps(records, indent=2))
    assert [a.id for a in result.accounts] == ["1", "3"]
    assert [(e.line, e.message.startswith("record 2: ")) for e in result.errors] == [(2, True)]


def test_a_broken_json_array_keeps_the_records_before_the_break() -> None:
    text = '[{"platform": "twitter", "id": "1"},\n {"platform": "twitter", "id": "2"},\n {"plat'
    result = load_accounts(text)
    assert [a.id for a in result.accounts] == ["1", "2"]
    (error,) = result.errors
    assert error.line == 3 and "record 3" in error.message and "rest" in error.message


def test_pretty_printed_single_object_and_csv_of_neutral_rows() -> None:
    one = json.dumps({"platform": "Mastodon", "id": 7, "handle": "a@b.example"}, indent=2)
    (acc,) = load_accounts(one).accounts
    assert (acc.platform, acc.id) == ("mastodon", "7")
    csv_text = (
        "platform,id,handle,followers_count,verified,created_at,label,bio_length\n"
        "twitter,1,ann,12,true,2008-08-27T13:08:45Z,1,40\n"
        'twitter,2,"bob, jr",,false,,,\n'
        "twitter,3,carl,-1,,,,\n"
        "twitter,4\n"
    )
    result = load_accounts(csv_text)
    assert result.format == "accounts"
    first, second = result.accounts
    assert first.followers_count == 12 and first.verified is True and first.label == 1
    assert first.created_at == datetime(2008, 8, 27, 13, 8, 45, tzinfo=UTC)
    assert first.extra == {"bio_length": 40}
    assert second.handle == "bob, jr" and second.followers_count is None
    assert [(e.line, e.message) for e in result.errors] == [
        (4, "followers_count: negative count -1"),
        (5, "expected 8 cells, got 2"),
    ]


def test_csv_rows_spanning_lines_are_numbered_by_their_first_line() -> None:
    text = 'platform,id,bio\ntwitter,1,"two\nlines"\ntwitter,,x\n'
    result = load_accounts(text)
    assert [a.bio for a in result.accounts] == ["two\nlines"]
    assert [e.line for e in result.errors] == [4]


# -- API payloads -----------------------------------------------------------------------------


def test_bluesky_profile_view_detailed() -> None:
    acc = account_from_bluesky(BLUESKY_DETAILED, observed_at=SEEN)
    assert acc.platform == "bluesky" and acc.id == BLUESKY_DETAILED["did"]
    assert acc.handle == "marta-kowalska.bsky.social"
    assert acc.display_name == "Marta Kowalska 🌿"
    assert (acc.followers_count, acc.following_count, acc.posts_count) == (1520, 310, 2875)
    assert acc.has_default_avatar is False and acc.has_banner is True
    assert acc.declared_bot is False
    assert acc.created_at == datetime(2023, 5, 4, 18, 2, 11, tzinfo=UTC)
    assert acc.observed_at == SEEN


def test_bluesky_get_followers_response_and_self_label() -> None:
    result = load_accounts(json.dumps(BLUESKY_FOLLOWERS, indent=2))
    assert result.format == "bluesky" and result.errors == []
    human, bot = result.accounts
    assert human.handle == "jonas.example.com" and human.followers_count is None
    assert human.has_banner is None  # profileView has no banner field: unknown
    assert bot.id == BLUESKY_BOT_DID
    assert bot.has_default_avatar is True and bot.declared_bot is True


def test_bluesky_bot_label_from_someone_else_is_not_a_self_label() -> None:
    other = dict(BLUESKY_DETAILED)
    other["labels"] = [{"src": "did:plc:moderator", "uri": "at://x", "val": "bot", "cts": "x"}]
    assert account_from_bluesky(other, observed_at=None).declared_bot is False
    with pytest.raises(AccountError, match="did"):
        account_from_bluesky({"handle": "no-did.bsky.social"}, observed_at=None)


def test_mastodon_account_entity() -> None:
    acc = account_from_mastodon(MASTODON_ACCOUNT, observed_at=SEEN, instance="fosstodon.example")
    assert acc.platform == "mastodon" and acc.handle == "aiko@fosstodon.example"
    assert acc.bio is not None and "<" not in acc.bio and "Linguist & tea person." in acc.bio
    assert acc.url == "https://aiko.example.org"  # from fields, not the profile page url
    assert acc.last_post_at == datetime(2024, 11, 24, tzinfo=UTC)
    assert (acc.followers_count, acc.following_count, acc.posts_count) == (412, 198, 3021)
    assert acc.has_default_avatar is False and acc.has_banner is True
    assert acc.protected is False and acc.declared_bot is False
    bot = account_from_mastodon(MASTODON_BOT, observed_at=None)
    assert bot.handle == "newsfeed@news.example"
    assert bot.has_default_avatar is True and bot.has_banner is False
    assert bot.declared_bot is True and bot.protected is True and bot.last_post_at is None


def test_mastodon_note_html_is_safe_plain_text() -> None:
    hostile = dict(MASTODON_ACCOUNT)
    hostile["note"] = "<script>alert(1)</script><p>hi &lt;b&gt;</p>" + "<" * 200_000
    acc = account_from_mastodon(hostile, observed_at=None)
    assert acc.bio is not None and acc.bio.startswith("alert(1)hi <b>")
    assert len(acc.bio) <= MAX_TEXT


def test_x_v2_response() -> None:
    result = load_accounts(json.dumps(X_FOLLOWERS))
    assert result.format == "x-v2" and result.errors == []
    person, fake = result.accounts
    assert person.platform == "twitter" and person.handle == "sofia_rr"
    assert (person.posts_count, person.likes_count, person.listed_count) == (12055, 30111, 7)
    assert person.has_default_avatar is False
    assert fake.has_default_avatar is True and fake.following_count == 4812
    single = account_from_x(X_FOLLOWERS["data"][0], observed_at=None)
    assert single == person
    with pytest.raises(AccountError, match="public_metrics"):
        account_from_x({"id": "1", "username": "a", "public_metrics": [1]}, observed_at=None)


def test_twitter_v1_json_user_object() -> None:
    user = {
        "id": 6253282,
        "id_str": "6253282",
        "name": "Émile",
        "screen_name": "emile",
        "location": "",
        "description": "",
        "url": None,
        "protected": False,
        "verified": True,
        "followers_count": 10,
        "friends_count": 20,
        "listed_count": 1,
        "favourites_count": 3,
        "statuses_count": 4,
        "created_at": "Wed May 23 06:01:13 +0000 2007",
        "default_profile_image": False,
        "status": {"created_at": "Mon Nov 25 10:00:00 +0000 2024", "text": "hello"},
    }
    acc = account_from_twitter_v1(user, observed_at=SEEN)
    assert (acc.id, acc.handle, acc.display_name) == ("6253282", "emile", "Émile")
    assert acc.created_at == datetime(2007, 5, 23, 6, 1, 13, tzinfo=UTC)
    assert acc.last_post_at == datetime(2024, 11, 25, 10, tzinfo=UTC)
    # a full API object leaves profile_banner_url out when there is no banner
    assert acc.observed_at == SEEN and acc.has_banner is False and acc.verified is True
    assert acc.bio is None and acc.location is None
    with pytest.raises(AccountError, match="created_at"):
        account_from_twitter_v1({**user, "created_at": "Someday"}, observed_at=None)


# -- detection --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (BLUESKY_DETAILED, "bluesky"),
        ({"profiles": [BLUESKY_DETAILED]}, "bluesky"),
        (MASTODON_ACCOUNT, "mastodon"),
        ([MASTODON_ACCOUNT, MASTODON_BOT], "mastodon"),
        (X_FOLLOWERS, "x-v2"),
        ({"data": X_FOLLOWERS["data"][0]}, "x-v2"),
        ({"screen_name": "a", "id_str": "1"}, "twitter-v1"),
        ({"users": [{"screen_name": "a", "id": 1}], "next_cursor": 0}, "twitter-v1"),
        ({"userFollowerCount": 1, "userFollowingCount": 2, "userMediaCount": 0}, "instafake"),
        ({"platform": "bluesky", "id": "did:plc:x"}, "accounts"),
    ],
)
def test_auto_detection_of_every_format(payload: object, expected: str) -> None:
    for text in (json.dumps(payload), json.dumps(payload, indent=1)):
        result = load_accounts(text)
        assert result.format == expected, text[:80]
        assert result.errors == [] and len(result.accounts) >= 1
        explicit = load_accounts(text, format=expected)
        assert explicit.accounts == result.accounts


def test_mixed_and_unknown_records_are_row_errors() -> None:
    lines = [
        json.dumps(BLUESKY_DETAILED),
        json.dumps(MASTODON_ACCOUNT),
        json.dumps({"foo": 1, "bar": 2}),
        json.dumps(BLUESKY_DETAILED),
    ]
    result = load_accounts("\n".join(lines))
    assert result.format == "bluesky" and len(result.accounts) == 2
    assert [(e.line, e.message) for e in result.errors] == [
        (2, "a mastodon record in input read as bluesky"),
        (3, "not an account record (keys: foo, bar)"),
    ]


def test_an_explicit_format_reads_other_records_as_errors() -> None:
    result = load_accounts(json.dumps(MASTODON_ACCOUNT), format="bluesky")
    assert result.accounts == [] and result.errors[0].message.startswith("did:")


def test_unicode_handles_and_names_survive_every_mapper() -> None:
    name = "Ωmega ☕ 山田 花子 \u202e"
    profile = {**BLUESKY_DETAILED, "displayName": name}
    assert load_accounts(json.dumps(profile, ensure_ascii=False)).accounts[0].display_name == name
    toot = {**MASTODON_ACCOUNT, "display_name": name, "acct": "hanako@例え.jp"}
    acc = load_accounts(json.dumps(toot)).accounts[0]
    assert acc.display_name == name and acc.handle == "hanako@例え.jp"


def test_account_round_trip_through_jsonl() -> None:
    acc = account_from_mastodon(MASTODON_ACCOUNT, observed_at=SEEN)
    (back,) = load_accounts(json.dumps(acc.to_dict())).accounts
    assert back == acc and isinstance(back, Account)


def test_records_inside_api_responses_are_numbered_across_the_document() -> None:
    page1 = json.loads(json.dumps(BLUESKY_FOLLOWERS))
    page2 = json.loads(json.dumps(BLUESKY_FOLLOWERS))
    page2["followers"][0]["followersCount"] = -3
    page2["followers"][1]["did"] = "not-a-did"
    result = load_accounts(json.dumps([page1, page2], indent=2))
    assert result.format == "bluesky" and len(result.accounts) == 2
    assert [(e.line, e.message.split(":")[0]) for e in result.errors] == [
        (3, "record 3"),
        (4, "record 4"),
    ]
    assert "followersCount: negative count -3" in result.errors[0].message


def test_wrapper_items_on_a_json_lines_line_share_its_line_number() -> None:
    broken = json.loads(json.dumps(X_FOLLOWERS))
    del broken["data"][1]["id"]
    text = json.dumps(X_FOLLOWERS) + "\n" + json.dumps(broken) + "\n"
    result = load_accounts(text)
    assert len(result.accounts) == 3
    assert [(e.line, e.message[:8]) for e in result.errors] == [(2, "item 2: ")]


def test_lines_without_line_breaks_are_lines() -> None:
    records = [{"platform": "twitter", "id": str(i), "followers_count": i} for i in range(3)]
    pretty = json.dumps(records, indent=2).splitlines()
    assert [a.followers_count for a in load_accounts(pretty).accounts] == [0, 1, 2]
    jsonl = [json.dumps(r) for r in records]
    assert [a.id for a in load_accounts(jsonl).accounts] == ["0", "1", "2"]


def test_csv_long_lines_and_fields_are_row_errors() -> None:
    long_bio = "y" * (MAX_LINE + 5)
    big_field = "z" * 200_000  # beyond the csv module's field limit, under MAX_LINE
    text = (
        "platform,id,bio\n"
        "twitter,1,ok\n"
        f"twitter,2,{long_bio}\n"
        f'twitter,3,"{big_field}"\n'
        "twitter,4,fine\n"
    )
    result = load_accounts(text)
    assert [a.id for a in result.accounts] == ["1", "4"]
    assert [e.line for e in result.errors] == [3, 4]
    assert "1 MiB" in result.errors[0].message and "CSV" in result.errors[1].message


def test_instafake_format_reads_raw_records_and_neutral_rows_with_extras() -> None:
    raw = {
        "userFollowerCount": 25,
        "userFollowingCount": 1937,
        "userBiographyLength": 0,
        "userMediaCount": 0,
        "userHasProfilPic": 1,
        "userIsPrivate": 1,
        "usernameDigitCount": 0,
        "usernameLength": 10,
        "isFake": 1,
    }
    (acc,) = load_accounts(json.dumps([raw]), format="instafake").accounts
    assert acc.platform == "instagram" and acc.id == "instafake-0001" and acc.label == 1
    assert acc.has_default_avatar is False and acc.protected is True
    assert acc.extra["handle_length"] == 10 and acc.extra["has_url"] is None
    neutral_row = {**acc.to_dict(), "id": "instafake-real-0007"}
    (again,) = load_accounts(json.dumps(neutral_row), format="instafake").accounts
    assert again.id == "instafake-real-0007" and again.extra == acc.extra
    bad = load_accounts(json.dumps([{**raw, "userFollowerCount": "lots"}]))
    assert bad.errors[0].line == 1 and "userFollowerCount" in bad.errors[0].message


def test_api_records_with_bad_fields_name_the_field() -> None:
    toot = {**MASTODON_ACCOUNT, "followers_count": -1}
    (error,) = load_accounts(json.dumps(toot)).errors  # JSON Lines: the line says where
    assert (error.line, error.message) == (1, "followers_count: negative count -1")
    (error,) = load_accounts(json.dumps(toot, indent=2)).errors  # a document: the record
    assert (error.line, error.message) == (1, "record 1: followers_count: negative count -1")
    x_user = {"data": [{"username": "noid", "name": "No Id"}]}
    (error,) = load_accounts(json.dumps(x_user)).errors
    assert error.line == 1 and "id" in error.message
    fields = {**MASTODON_ACCOUNT, "fields": "not a list"}
    (error,) = load_accounts(json.dumps(fields)).errors
    assert "fields" in error.message


def test_twitter_v1_csv_without_crawl_time_takes_the_default_observed_at() -> None:
    text = (
        "id,screen_name,name,followers_count,friends_count,statuses_count,created_at,"
        "default_profile_image,verified,protected,description\n"
        '12,léa_b,Léa,3,900,0,Wed Aug 27 13:08:45 +0000 2008,1,,,"NULL"\n'
        "13,x,,1.0,2,3,NULL,,,1,\n"
    )
    result = load_accounts(text, observed_at=SEEN)
    assert result.format == "twitter-v1" and result.errors == []
    lea, other = result.accounts
    assert lea.handle == "léa_b" and lea.observed_at == SEEN and lea.has_default_avatar is True
    assert lea.bio is None and lea.verified is False and lea.has_banner is None
    assert other.followers_count == 1 and other.protected is True and other.created_at is None


def test_a_document_nested_too_deeply_keeps_what_came_before() -> None:
    text = '[{"platform": "twitter", "id": "1"},\n' + "[" * 200_000 + "]" * 200_000 + "]"
    result = load_accounts(text)
    assert [a.id for a in result.accounts] == ["1"]
    (error,) = result.errors
    assert error.line == 2 and "nested too deeply" in error.message


@pytest.mark.parametrize("text", ['"just a string"', "42", "null"])
def test_a_bare_json_scalar_is_not_an_input(text: str) -> None:
    with pytest.raises(LoadError):
        load_accounts(text)


def test_bytes_and_binary_streams() -> None:
    data = ("\ufeff" + neutral("1", display_name="Zoë") + "\n").encode()
    (acc,) = load_accounts(data).accounts
    assert acc.display_name == "Zoë"
    with pytest.raises(LoadError, match="UTF-8"):
        load_accounts(b"\xff\xfe\x00garbage")
    with pytest.raises(LoadError, match="binary stream"):
        load_accounts(io.BytesIO(neutral("1").encode()))  # type: ignore[arg-type]


def test_null_marker_is_null_only_in_csv_dumps() -> None:
    user = {"id_str": "5", "screen_name": "null", "name": "NULL", "profile_banner_url": "NULL"}
    acc = account_from_twitter_v1(user, observed_at=None)
    assert (acc.handle, acc.display_name, acc.has_banner) == ("null", "NULL", False)
    row = load_accounts("id,screen_name,name,profile_banner_url\n5,null,NULL,NULL\n").accounts[0]
    assert (row.handle, row.display_name, row.has_banner) == ("null", None, False)
    bsky = account_from_bluesky({**BLUESKY_DETAILED, "displayName": "NULL"}, observed_at=None)
    assert bsky.display_name == "NULL"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_delimiters(delimiter: str) -> None:
    text = delimiter.join(["platform", "id", "display_name"]) + "\n"
    text += delimiter.join(["bluesky", "did:plc:a", '"Smith, Jo; Dr"']) + "\n"
    (acc,) = load_accounts(text).accounts
    assert (acc.platform, acc.id, acc.display_name) == ("bluesky", "did:plc:a", "Smith, Jo; Dr")


def test_a_broken_first_line_does_not_hide_json_lines() -> None:
    text = '{"platform": "twitter", "id": \n' + neutral("2") + "\n" + neutral("3") + "\n"
    result = load_accounts(text)
    assert [a.id for a in result.accounts] == ["2", "3"]
    assert [e.line for e in result.errors] == [1]


def test_a_broken_pretty_printed_document_is_one_error() -> None:
    text = json.dumps(BLUESKY_FOLLOWERS, indent=2)
    cut = text[: len(text) // 2]
    result = load_accounts(cut)
    assert result.accounts == []
    (error,) = result.errors
    assert error.line == 1 and "invalid JSON" in error.message and "line " in error.message


@pytest.mark.parametrize(
    "instance", ["fosstodon.example", "https://Fosstodon.example/", "@fosstodon.example", None]
)
def test_mastodon_local_accounts_get_the_instance_domain(instance: str | None) -> None:
    acc = account_from_mastodon(MASTODON_ACCOUNT, observed_at=None, instance=instance)
    assert acc.handle == "aiko@fosstodon.example"


# -- hostile input (issue 15) -----------------------------------------------------------------

HUGE = "9" * 5000  # beyond Python's 4300-digit limit for int()
GOOD = {"platform": "bluesky", "id": "a", "handle": "a.test", "followers_count": 3}


def _hostile_records() -> list[str]:
    """Record texts: good, then one per hostile value, then good again (ids a..)."""
    good = json.dumps(GOOD)
    return [
        good,
        good.replace('"followers_count": 3', f'"followers_count": {HUGE}').replace('"a"', '"b"'),
        good.replace("}", f', "extra_number": {HUGE}}}').replace('"a"', '"c"'),
        good.replace("}", ', "created_at": "9999-12-31T23:59:59-14:00"}').replace('"a"', '"d"'),
        good.replace("}", ', "created_at": "0001-01-01T00:00:00+14:00"}').replace('"a"', '"e"'),
        good.replace('"a.test"', '"\\ud800x"').replace('"a"', '"f"'),
        good.replace('"a"', '"g"'),
    ]


@pytest.mark.parametrize("container", ["json-lines", "array", "one-line", "values"])
def test_hostile_values_are_row_errors_and_the_rest_loads(container: str) -> None:
    records = _hostile_records()
    text = {
        "json-lines": "\n".join(records),
        "array": "[\n" + ",\n".join(records) + "\n]",
        "one-line": "[" + ", ".join(records) + "]",
        # a document of several values, the first pretty-printed
        "values": "\n".join(records).replace("{", "{\n  ", 1),
    }[container]
    result = load_accounts(text)
    loaded = {a.id: a for a in result.accounts}
    assert set(loaded) == {"a", "c", "f", "g"}
    assert loaded["f"].handle == "\ufffdx"  # a lone surrogate cannot reach the output
    assert loaded["c"].extra["extra_number"] == float("inf")
    messages = [e.message for e in result.errors]
    assert len(messages) == 3, messages
    assert "followers_count" in messages[0] and "5000 digits" in messages[0]
    assert all("created_at" in m and "out of range" in m for m in messages[1:])


def test_hostile_csv_cells_are_row_errors() -> None:
    text = (
        "platform,id,followers_count,created_at,score\n"
        "bluesky,a,3,,1\n"
        f"bluesky,b,{HUGE},,1\n"
        "bluesky,c,3,9999-12-31T23:59:59-14:00,1\n"
        f"bluesky,d,3,,{HUGE}\n"
        "bluesky,e,3,,1\n"
    )
    result = load_accounts(text)
    assert [a.id for a in result.accounts] == ["a", "d", "e"]
    assert [e.line for e in result.errors] == [3, 4]
    twitter = (
        "id,screen_name,followers_count,created_at\n"
        "1,a,3,Wed Aug 27 13:08:45 +0000 2008\n"
        "2,b,3,Fri Dec 31 23:59:59 -2359 9999\n"
        "3,c,3,Mon Jan 01 00:00:00 +2359 0001\n"
    )
    result = load_accounts(twitter)
    assert [a.id for a in result.accounts] == ["1"]
    assert [e.line for e in result.errors] == [3, 4]
    assert all("out of range" in e.message for e in result.errors)


def test_deep_nesting_and_huge_numbers_never_escape_as_exceptions() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    lines = [json.dumps(GOOD), deep, HUGE, "1e999", '{"platform": "x", "id": 1e999}']
    for text in ("\n".join(lines), "[" + ",".join(lines) + "]"):
        result = load_accounts(text)
        assert [a.id for a in result.accounts] == ["a"]
        assert result.errors


def test_keys_echoed_in_messages_are_escaped() -> None:
    forged = json.dumps({"a\nskipped line 99: forged\x1b[2J" + "k" * 100: 1})
    result = load_accounts(forged + "\n" + json.dumps(GOOD))
    (error,) = result.errors
    assert "\n" not in error.message and "\x1b" not in error.message
    assert "'a\\nskipped line 99: forged\\x1b[2J" in error.message
    assert len(error.message) < 200
    with pytest.raises(LoadError) as raised:
        load_accounts("\x1b[31mname\r,other\nx,y\n")
    assert "\x1b" not in str(raised.value) and "\r" not in str(raised.value)


# -- a format given that does not fit ---------------------------------------------------------


def test_a_forced_format_that_most_records_do_not_fit_is_warned_about() -> None:
    rows = "\n".join(neutral(str(i), followers_count=i) for i in range(5))
    forced = load_accounts(io.StringIO(rows), "mastodon")
    assert len(forced.warnings) == 1
    assert "5 of 5 records look like accounts records, not mastodon" in forced.warnings[0]
    assert load_accounts(io.StringIO(rows), "accounts").warnings == []
    assert load_accounts(io.StringIO(rows), "auto").warnings == []


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("id,handle,followers_count", "no platform column (id, handle, followers_count)"),
        ("foo,bar", "the neutral shape needs platform and id, twitter-v1 screen_name"),
    ],
)
def test_a_csv_without_known_columns_says_what_would_make_it_readable(
    header: str, says: str
) -> None:
    for fmt in ("auto", "accounts"):
        with pytest.raises(LoadError) as refused:
            load_accounts(io.StringIO(f"{header}\n1,2,3\n"), fmt)
        assert says in str(refused.value)
