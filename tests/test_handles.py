"""Handle parsing: every accepted form, the normal forms, and hostile input."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from bot.sources.errors import BadHandle
from bot.sources.handles import ACCEPTED_FORMS, MAX_INPUT, Handle, parse_configured, parse_handle

ACCEPTED = [
    ("bsky:alice.bsky.social", Handle("bluesky", "alice.bsky.social")),
    ("bluesky:alice.bsky.social", Handle("bluesky", "alice.bsky.social")),
    ("bsky:@Alice.Bsky.Social", Handle("bluesky", "alice.bsky.social")),
    ("@alice.bsky.social", Handle("bluesky", "alice.bsky.social")),
    ("alice.bsky.social", Handle("bluesky", "alice.bsky.social")),
    ("@ALICE.example.com", Handle("bluesky", "alice.example.com")),
    ("https://bsky.app/profile/alice.bsky.social", Handle("bluesky", "alice.bsky.social")),
    ("https://bsky.app/profile/alice.bsky.social/", Handle("bluesky", "alice.bsky.social")),
    ("HTTPS://BSKY.APP/profile/Alice.bsky.social", Handle("bluesky", "alice.bsky.social")),
    (
        "https://bsky.app/profile/alice.bsky.social?ref=x#top",
        Handle("bluesky", "alice.bsky.social"),
    ),
    (
        "https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur",
        Handle("bluesky", "did:plc:z72i7hdynmk6r22z27h6tvur"),
    ),
    (
        "bsky:did:plc:z72i7hdynmk6r22z27h6tvur",
        Handle("bluesky", "did:plc:z72i7hdynmk6r22z27h6tvur"),
    ),
    ("did:web:example.com", Handle("bluesky", "did:web:example.com")),
    # reserved / test TLDs are syntactically valid handles
    ("bsky:alice.test", Handle("bluesky", "alice.test")),
    ("@bob.example", Handle("bluesky", "bob.example")),
    ("bsky:carol.invalid", Handle("bluesky", "carol.invalid")),
    ("bsky:x.localhost", Handle("bluesky", "x.localhost")),
    ("bsky:a-b.c-d.e2e.test", Handle("bluesky", "a-b.c-d.e2e.test")),
    ("bsky:1.2.test", Handle("bluesky", "1.2.test")),
    ("mastodon:@user@example.social", Handle("mastodon", "user@example.social")),
    ("mastodon:user@example.social", Handle("mastodon", "user@example.social")),
    ("masto:@User@Example.Social", Handle("mastodon", "user@example.social")),
    ("@user@example.social", Handle("mastodon", "user@example.social")),
    ("user@example.social", Handle("mastodon", "user@example.social")),
    ("@first.last@mastodon.example.org", Handle("mastodon", "first.last@mastodon.example.org")),
    ("https://example.social/@user", Handle("mastodon", "user@example.social")),
    ("https://example.social/@user/", Handle("mastodon", "user@example.social")),
    ("https://example.social/@user@other.social", Handle("mastodon", "user@other.social")),
    ("x:jack", Handle("x", "jack")),
    ("x:@Jack", Handle("x", "jack")),
    ("twitter:jack", Handle("x", "jack")),
    ("https://x.com/jack", Handle("x", "jack")),
    ("https://twitter.com/jack", Handle("x", "jack")),
    ("https://www.twitter.com/jack/", Handle("x", "jack")),
    ("https://mobile.twitter.com/Jack", Handle("x", "jack")),
    ("https://x.com/jack?s=20", Handle("x", "jack")),
    ("https://x.com/@jack", Handle("x", "jack")),
    ("x:a_b_c_123456789", Handle("x", "a_b_c_123456789")),
    ("  @alice.bsky.social \n", Handle("bluesky", "alice.bsky.social")),
]


@pytest.mark.parametrize(("text", "expected"), ACCEPTED)
def test_accepted_forms(text: str, expected: Handle) -> None:
    assert parse_handle(text) == expected


def test_bare_name_goes_to_the_default_platform() -> None:
    assert parse_handle("@alice") == Handle("bluesky", "alice.bsky.social")
    assert parse_handle("@jack", "x") == Handle("x", "jack")
    assert parse_handle("jack", "x") == Handle("x", "jack")
    assert parse_handle("@bob", "mastodon", mastodon_instance="mastodon.social") == Handle(
        "mastodon", "bob@mastodon.social"
    )
    with pytest.raises(BadHandle, match="instance"):
        parse_handle("@bob", "mastodon")
    with pytest.raises(BadHandle):
        parse_handle("@bob", "myspace")


def test_a_configured_handle_takes_the_default_platform_and_the_mastodon_server() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        default_platform="mastodon",
        mastodon={"base_url": "https://Example.Social/"},
    )
    assert parse_configured("@bob", settings) == Handle("mastodon", "bob@example.social")
    assert parse_configured("x:jack", settings) == Handle("x", "jack")
    plain = Settings(_env_file=None)  # type: ignore[call-arg]
    assert parse_configured("@alice", plain) == Handle("bluesky", "alice.bsky.social")


def test_handle_helpers() -> None:
    assert str(Handle("bluesky", "a.test")) == "bsky:a.test"
    assert Handle("mastodon", "u@ex.social").instance == "ex.social"
    assert Handle("x", "jack").instance is None
    assert Handle("bluesky", "did:plc:z72i7hdynmk6r22z27h6tvur").is_did


REJECTED = [
    "",
    "   ",
    "@",
    "@@alice.bsky.social",
    "bsky:",
    "bsky:alice",  # a Bluesky handle needs a domain
    "bsky:alice..bsky.social",
    "bsky:-alice.bsky.social",
    "bsky:alice-.bsky.social",
    "bsky:alice.bsky.123",  # the TLD cannot start with a digit
    "bsky:" + "a" * 64 + ".test",  # a label longer than 63
    "bsky:" + ".".join(["abcdefghi"] * 26) + ".test",  # more than 253 characters
    "bsky:did:plc:short",
    "bsky:did:key:z6Mk",
    "x:",
    "x:jack!",
    "x:sixteen_chars_xx",
    "x:home",
    "twitter:jack.dorsey",
    "mastodon:user",
    "mastodon:@user@",
    "mastodon:@user@127.0.0.1",
    "mastodon:@user@localhost",
    "@user@example.social@evil.com",
    "@user@exa_mple.social",
    "@user name@example.social",
    "myspace:tom",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://bsky.app/profile/alice.bsky.social",
    "file:///etc/passwd",
    "//bsky.app/profile/alice.bsky.social",
    "https://bsky.app@evil.com/profile/x",
    "https://evil.com@bsky.app/profile/alice.bsky.social",
    "https://user:pass@x.com/jack",
    "https://bsky.app:443/profile/alice.bsky.social",
    "https://x.com:8080/jack",
    "https://bsky.app/profile/alice%2Ebsky.social",
    "https://x.com/%6Aack",
    "https://example.social/%40user",
    "https://bsky.app\\@evil.com/profile/alice.bsky.social",
    "https://bsky.app/profile/alice.bsky.social/post/3kabc",
    "https://bsky.app/profile/",
    "https://bsky.app/",
    "https://x.com/jack/status/20",
    "https://x.com/",
    "https://x.com/i/flow/login",
    "https://example.social/users/user",
    "https://example.social/@user/123456",
    "https://127.0.0.1/@user",
    "https://[::1]/@user",
    "https://evil.com#@bsky.app/profile/alice.bsky.social",
    "https:/bsky.app/profile/alice.bsky.social",
    "<script>alert(1)</script>",
    "@alice.bsky.social; rm -rf /",
    "'; DROP TABLE users; --",
]


@pytest.mark.parametrize("text", REJECTED)
def test_rejected(text: str) -> None:
    with pytest.raises(BadHandle) as info:
        parse_handle(text)
    # The message shows the accepted forms and never echoes the input back.
    assert ACCEPTED_FORMS in str(info.value)
    for marker in ("evil", "<", "DROP", "rm -rf", "passwd", "alert"):
        assert marker not in str(info.value)


HOSTILE_CHARACTERS = [
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\ufeff",  # byte-order mark
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\u00a0",  # no-break space
    "\u0430",  # Cyrillic a, looks like a Latin a
    "\uff41",  # full-width a
    "\n",
    "\t",
]


@pytest.mark.parametrize("char", HOSTILE_CHARACTERS)
@pytest.mark.parametrize(
    "template",
    ["bsky:ali{c}ce.bsky.social", "@user{c}@example.social", "x:ja{c}ck", "https://x.com/ja{c}ck"],
)
def test_hostile_characters_inside_are_rejected(char: str, template: str) -> None:
    with pytest.raises(BadHandle):
        parse_handle(template.format(c=char))


def test_very_long_input_is_rejected_quickly() -> None:
    for text in ("@" + "a" * 10_000 + ".bsky.social", "x:" + "j" * MAX_INPUT, "a" * 10_000_000):
        with pytest.raises(BadHandle, match="too long"):
            parse_handle(text)


def test_non_text_is_rejected() -> None:
    with pytest.raises(BadHandle):
        parse_handle(None)  # type: ignore[arg-type]


def test_normalised_handles_round_trip() -> None:
    """Parsing the normal form again gives the same handle (stable cache keys)."""
    for text, expected in ACCEPTED:
        again = parse_handle(str(parse_handle(text)))
        assert again == expected
