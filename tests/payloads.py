"""Hand-written API payloads shaped like the documented responses; the people are invented."""

from __future__ import annotations

from typing import Any

BLUESKY_DID = "did:plc:z72i7hdynmk6r22z27h6tvur"
BLUESKY_BOT_DID = "did:plc:4botbotbotbotbotbotbotbo"

#: app.bsky.actor.defs#profileViewDetailed (app.bsky.actor.getProfile)
BLUESKY_DETAILED: dict[str, Any] = {
    "did": BLUESKY_DID,
    "handle": "marta-kowalska.bsky.social",
    "displayName": "Marta Kowalska 🌿",
    "description": "Botanist in Kraków. Ferns, mosses, long walks.",
    "avatar": "https://cdn.bsky.app/img/avatar/plain/did:plc:z72i7hdynmk6r22z27h6tvur/bafkreia@jpeg",
    "banner": "https://cdn.bsky.app/img/banner/plain/did:plc:z72i7hdynmk6r22z27h6tvur/bafkreib@jpeg",
    "followersCount": 1520,
    "followsCount": 310,
    "postsCount": 2875,
    "associated": {"lists": 0, "feedgens": 0, "starterPacks": 1, "labeler": False},
    "indexedAt": "2024-11-02T10:21:33.512Z",
    "createdAt": "2023-05-04T18:02:11.000Z",
    "viewer": {"muted": False, "blockedBy": False},
    "labels": [],
}

#: app.bsky.graph.getFollowers: {subject, followers: profileView[], cursor}
BLUESKY_FOLLOWERS: dict[str, Any] = {
    "subject": {
        "did": BLUESKY_DID,
        "handle": "marta-kowalska.bsky.social",
        "displayName": "Marta Kowalska 🌿",
        "indexedAt": "2024-11-02T10:21:33.512Z",
        "createdAt": "2023-05-04T18:02:11.000Z",
        "labels": [],
    },
    "followers": [
        {
            "did": "did:plc:abcdefghijklmnopqrstuvwx",
            "handle": "jonas.example.com",
            "displayName": "Jonas",
            "description": "Weekend cyclist.",
            "avatar": "https://cdn.bsky.app/img/avatar/plain/did:plc:abcdefghijklmnopqrstuvwx/x@jpeg",
            "indexedAt": "2024-10-01T08:00:00.000Z",
            "createdAt": "2024-09-30T21:15:00.000Z",
            "viewer": {"muted": False, "blockedBy": False},
            "labels": [],
        },
        {
            "did": BLUESKY_BOT_DID,
            "handle": "weather-every-hour.bsky.social",
            "displayName": "Hourly weather",
            "indexedAt": "2024-10-03T08:00:00.000Z",
            "createdAt": "2024-10-02T12:00:00.000Z",
            "labels": [
                {
                    "src": BLUESKY_BOT_DID,
                    "uri": f"at://{BLUESKY_BOT_DID}/app.bsky.actor.profile/self",
                    "cid": "bafyreiexample",
                    "val": "bot",
                    "cts": "2024-10-02T12:00:00.000Z",
                }
            ],
        },
    ],
    "cursor": "3l5cxqz2yq22k",
}

#: Mastodon REST Account entity (GET /api/v1/accounts/:id/followers items)
MASTODON_ACCOUNT: dict[str, Any] = {
    "id": "109302465918471234",
    "username": "aiko",
    "acct": "aiko",
    "display_name": "Aiko Tanaka",
    "locked": False,
    "bot": False,
    "discoverable": True,
    "group": False,
    "created_at": "2022-11-09T00:00:00.000Z",
    "note": "<p>Linguist &amp; tea person.<br />Tokyo → Lisbon</p>"
    '<p><a href="https://aiko.example.org" rel="nofollow noopener">aiko.example.org</a></p>',
    "url": "https://fosstodon.example/@aiko",
    "avatar": "https://files.fosstodon.example/accounts/avatars/109/302/original/a1.png",
    "avatar_static": "https://files.fosstodon.example/accounts/avatars/109/302/original/a1.png",
    "header": "https://files.fosstodon.example/accounts/headers/109/302/original/h1.jpg",
    "header_static": "https://files.fosstodon.example/accounts/headers/109/302/original/h1.jpg",
    "followers_count": 412,
    "following_count": 198,
    "statuses_count": 3021,
    "last_status_at": "2024-11-24",
    "emojis": [],
    "fields": [
        {
            "name": "Website",
            "value": '<a href="https://aiko.example.org" target="_blank" '
            'rel="nofollow noopener me"><span class="invisible">https://</span>'
            '<span class="">aiko.example.org</span></a>',
            "verified_at": "2023-01-02T03:04:05.000+00:00",
        }
    ],
}

MASTODON_BOT: dict[str, Any] = {
    "id": "110000000000000001",
    "username": "newsfeed",
    "acct": "newsfeed@news.example",
    "display_name": "",
    "locked": True,
    "bot": True,
    "created_at": "2024-01-15T00:00:00.000Z",
    "note": "",
    "url": "https://news.example/@newsfeed",
    "avatar": "https://fosstodon.example/avatars/original/missing.png",
    "avatar_static": "https://fosstodon.example/avatars/original/missing.png",
    "header": "https://fosstodon.example/headers/original/missing.png",
    "header_static": "https://fosstodon.example/headers/original/missing.png",
    "followers_count": 0,
    "following_count": 5000,
    "statuses_count": 0,
    "last_status_at": None,
    "emojis": [],
    "fields": [],
}

#: X API v2 GET /2/users/:id/followers?user.fields=... response
X_FOLLOWERS: dict[str, Any] = {
    "data": [
        {
            "id": "1453214567890123456",
            "username": "sofia_rr",
            "name": "Sofía Ramírez",
            "description": "Periodista. Opiniones propias.",
            "location": "Ciudad de México",
            "url": "https://t.co/AbCdEf1234",
            "created_at": "2021-10-27T05:12:09.000Z",
            "protected": False,
            "verified": False,
            "profile_image_url": "https://pbs.twimg.com/profile_images/1453214/abc_normal.jpg",
            "public_metrics": {
                "followers_count": 880,
                "following_count": 402,
                "tweet_count": 12055,
                "listed_count": 7,
                "like_count": 30111,
            },
        },
        {
            "id": "1790000000000000001",
            "username": "user84736251",
            "name": "user84736251",
            "created_at": "2024-05-13T00:00:01.000Z",
            "protected": False,
            "verified": False,
            "profile_image_url": "https://abs.twimg.com/sticky/default_profile_images/default_profile_normal.png",
            "public_metrics": {
                "followers_count": 0,
                "following_count": 4812,
                "tweet_count": 0,
                "listed_count": 0,
                "like_count": 0,
            },
        },
    ],
    "meta": {"result_count": 2, "next_token": "7140dibdnow9c7btw3z2vwioavpvutgzrzm9icis4ndix"},
}
