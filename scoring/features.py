"""Platform-neutral features of an account, measured at its ``observed_at``, as numpy columns.

Every feature is a float; ``NaN`` means *unknown* (never zero), and the model turns an unknown
feature into a neutral (zero) contribution. Ages and rates use the snapshot's own ``observed_at``,
never the scorer's clock, so the same record scores the same today and in ten years.

Extraction is column-wise: one pass pulls each field out of the accounts, then numpy does the
arithmetic for the whole batch at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from scoring.account import Account

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "FIELD_FEATURES",
    "Columns",
    "FeatureSpec",
    "extract",
    "extract_columns",
    "known_fractions",
]

FloatArray = npt.NDArray[np.float64]

#: Platforms whose profile always has a link and a location slot, so an absent one means empty.
PROFILE_SLOT_PLATFORMS: Final = frozenset({"twitter", "x"})
#: Platforms whose rate of banner-less genuine accounts the training data measured. Elsewhere
#: (Bluesky, Mastodon, ...) a missing banner is read as unknown rather than as evidence: how
#: often genuine people skip the header image there is not known, while a banner that *is* set
#: still counts (bought and bot accounts almost never have one in any collection).
BANNER_BASE_RATE_PLATFORMS: Final = frozenset({"twitter", "x"})
_DIGITS: Final = "0123456789"
_SECONDS_PER_DAY: Final = 86400.0
_MAX_COUNT: Final = 1e15
#: Creation dates later than the snapshot by more than this are impossible: treated as unknown.
_FUTURE_TOLERANCE_DAYS: Final = 1.0


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One model input: its name, the account fields it reads, and a one-line meaning."""

    name: str
    fields: tuple[str, ...]
    doc: str


FEATURES: Final[tuple[FeatureSpec, ...]] = (
    FeatureSpec("log_followers", ("followers_count",), "log(1 + followers)"),
    FeatureSpec("log_following", ("following_count",), "log(1 + following)"),
    FeatureSpec(
        "follow_ratio",
        ("followers_count", "following_count"),
        "log((followers + 1) / (following + 1))",
    ),
    FeatureSpec(
        "lopsided_following",
        ("followers_count", "following_count"),
        "log(1 + following), scaled by how far following exceeds followers (0 when it does not, "
        "full from e times as many)",
    ),
    FeatureSpec("log_posts", ("posts_count",), "log(1 + posts)"),
    FeatureSpec("log_likes", ("likes_count",), "log(1 + likes given)"),
    FeatureSpec("log_listed", ("listed_count",), "log(1 + lists the account is on)"),
    FeatureSpec("log_age_days", ("created_at", "observed_at"), "log(1 + age in days)"),
    FeatureSpec(
        "posts_per_day", ("posts_count", "created_at", "observed_at"), "log(1 + posts a day)"
    ),
    FeatureSpec(
        "likes_per_day", ("likes_count", "created_at", "observed_at"), "log(1 + likes a day)"
    ),
    FeatureSpec(
        "following_per_day",
        ("following_count", "created_at", "observed_at"),
        "log(1 + accounts followed a day)",
    ),
    FeatureSpec("default_avatar", ("has_default_avatar",), "1 if the avatar is the default"),
    FeatureSpec("has_banner", ("has_banner",), "1 if a banner/header image is set"),
    FeatureSpec("verified", ("verified",), "1 if platform-verified"),
    FeatureSpec("declared_bot", ("declared_bot",), "1 if the account says it is automated"),
    FeatureSpec("bio_length", ("bio",), "log(1 + characters in the bio); 0 = no bio"),
    FeatureSpec("has_url", ("url",), "1 if the profile has a link"),
    FeatureSpec("has_location", ("location",), "1 if the profile has a location"),
    FeatureSpec("handle_length", ("handle",), "characters in the handle"),
    FeatureSpec("handle_digits", ("handle",), "ASCII digits anywhere in the handle"),
    FeatureSpec("handle_trailing_digits", ("handle",), "ASCII digits ending the handle"),
    FeatureSpec(
        "name_handle_mismatch",
        ("handle", "display_name"),
        "1 if the display name and the handle share no visible stem",
    ),
)
FEATURE_NAMES: Final[tuple[str, ...]] = tuple(f.name for f in FEATURES)
#: account field -> the features that read it (to blank features of an unrecorded field).
FIELD_FEATURES: Final[Mapping[str, tuple[str, ...]]] = {
    fld: tuple(f.name for f in FEATURES if fld in f.fields)
    for fld in sorted({fld for f in FEATURES for fld in f.fields})
}


@dataclass(frozen=True, slots=True)
class Columns:
    """Raw per-account values (NaN = unknown) that features and reason texts are built from."""

    followers: FloatArray
    following: FloatArray
    posts: FloatArray
    likes: FloatArray
    listed: FloatArray
    age_days: FloatArray
    bio_chars: FloatArray
    handle_chars: FloatArray
    handle_digits: FloatArray
    handle_trailing: FloatArray

    def __len__(self) -> int:
        return int(self.followers.shape[0])

    def matrix(self) -> FloatArray:
        """The columns side by side, (n, 10), in the order the fields are declared."""
        return np.column_stack(
            (
                self.followers,
                self.following,
                self.posts,
                self.likes,
                self.listed,
                self.age_days,
                self.bio_chars,
                self.handle_chars,
                self.handle_digits,
                self.handle_trailing,
            )
        )


def _flag_column(values: list[bool | None]) -> FloatArray:
    """Booleans to 1.0/0.0 with None -> NaN."""
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


def _count_column(values: list[Any]) -> FloatArray:
    """Counts (int or None) to float with None -> NaN; numpy maps None to NaN for float dtype.

    Counts beyond any real platform's (a hostile 10**400) are capped rather than overflowing.
    """
    if not values:
        return np.empty(0, dtype=np.float64)
    try:
        out = np.array(values, dtype=np.float64)
    except OverflowError:
        out = np.array([None if v is None else min(v, _MAX_COUNT) for v in values], np.float64)
    return np.minimum(out, _MAX_COUNT)


def _extra_number(extra: Mapping[str, Any], key: str) -> float:
    value = extra.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    try:
        number = float(value)
    except OverflowError:
        return math.nan
    return number if math.isfinite(number) and 0 <= number <= _MAX_COUNT else math.nan


def _handle_stats(handles: list[str | None]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Length, digit count and trailing-digit count of each handle's local part (NaN if absent)."""
    n = len(handles)
    length = np.full(n, math.nan)
    digits = np.full(n, math.nan)
    trailing = np.full(n, math.nan)
    present = [i for i, h in enumerate(handles) if h]
    if not present:
        return length, digits, trailing
    # The local part: "name" of "name@instance" (Mastodon) or "name.bsky.social" (Bluesky).
    texts = [(handles[i] or "").split("@", 1)[0].split(".", 1)[0] for i in present]
    idx = np.array(present, dtype=np.intp)
    # One buffer for the whole batch: "\n"-separated UTF-32 code points, digits found by numpy.
    blob = ("\n".join(texts) + "\n").encode("utf-32-le", "surrogatepass")
    codes = np.frombuffer(blob, dtype=np.uint32)
    is_digit = (codes >= 48) & (codes <= 57)
    lens = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    ends = np.cumsum(lens + 1) - 1  # position of each separator
    starts = ends - lens
    csum = np.concatenate(([0], np.cumsum(is_digit, dtype=np.int64)))
    digit_count = csum[ends] - csum[starts]
    positions = np.arange(codes.shape[0], dtype=np.int64)
    last_non_digit = np.maximum.accumulate(np.where(is_digit, -1, positions))
    trailing_count = (ends - 1) - last_non_digit[ends - 1]
    trailing_count = np.where(lens > 0, trailing_count, 0)
    length[idx] = lens
    digits[idx] = digit_count
    trailing[idx] = trailing_count
    return length, digits, trailing


_HANDLE_EDGES: Final = "_.-0123456789"


def _name_handle_mismatch(handle: str | None, name: str | None) -> float:
    """1.0 when neither the name nor the handle contains the other's first letters; NaN if unsure.

    Platform handles are Latin by necessity while names need not be, so a name that is not
    ASCII gives NaN (unknown) rather than a mismatch. Kept to a few C-level string calls: it
    runs once per account.
    """
    if not handle or not name or not name.isascii():
        return math.nan
    h = handle.casefold()
    if "@" in h:
        h = h.split("@", 1)[0]
    if "." in h:
        h = h.split(".", 1)[0]
    h = h.strip(_HANDLE_EDGES)
    n = name.casefold()
    if len(h) < 3 or len(n) < 3:
        return math.nan
    if h[:3] in n:
        return 0.0
    for word in n.split():
        if len(word) >= 3 and word[:3] in h:
            return 0.0
    return 1.0


def extract_columns(accounts: Sequence[Account]) -> tuple[Columns, FloatArray]:
    """Pull the raw columns and build the feature matrix (n, len(FEATURES)), NaN = unknown."""
    n = len(accounts)
    followers = _count_column([a.followers_count for a in accounts])
    following = _count_column([a.following_count for a in accounts])
    posts = _count_column([a.posts_count for a in accounts])
    likes = _count_column([a.likes_count for a in accounts])
    listed = _count_column([a.listed_count for a in accounts])

    created = np.array(
        [a.created_at.timestamp() if a.created_at is not None else math.nan for a in accounts],
        dtype=np.float64,
    )
    observed = np.array(
        [a.observed_at.timestamp() if a.observed_at is not None else math.nan for a in accounts],
        dtype=np.float64,
    )
    age = (observed - created) / _SECONDS_PER_DAY
    with np.errstate(invalid="ignore"):
        age = np.where(age < -_FUTURE_TOLERANCE_DAYS, math.nan, np.maximum(age, 0.0))
    days = np.maximum(age, 1.0)

    # Text slots: a present value is known; an absent one is "empty" only when we know the
    # platform has the slot and the record is a real profile (it has a handle).
    nan = math.nan
    bio_chars = np.array(
        [
            len(a.bio)
            if a.bio is not None
            else 0.0
            if a.handle is not None
            else _extra_number(a.extra, "bio_length")
            if a.extra
            else nan
            for a in accounts
        ],
        dtype=np.float64,
    )
    slots = [a.handle is not None and a.platform in PROFILE_SLOT_PLATFORMS for a in accounts]
    has_url = np.array(
        [
            1.0 if a.url is not None and a.platform != "mastodon" else 0.0 if slot else nan
            for a, slot in zip(accounts, slots, strict=True)
        ],
        dtype=np.float64,
    )
    has_location = np.array(
        [
            1.0 if a.location is not None else 0.0 if slot else nan
            for a, slot in zip(accounts, slots, strict=True)
        ],
        dtype=np.float64,
    )
    handles: list[str | None] = [a.handle for a in accounts]
    handle_chars, handle_digits, handle_trailing = _handle_stats(handles)
    for i in [i for i, a in enumerate(accounts) if a.handle is None and a.extra]:
        extra = accounts[i].extra
        handle_chars[i] = _extra_number(extra, "handle_length")
        handle_digits[i] = _extra_number(extra, "handle_digit_count")

    mismatch = np.array(
        [_name_handle_mismatch(a.handle, a.display_name) for a in accounts], dtype=np.float64
    )

    cols = Columns(
        followers=followers,
        following=following,
        posts=posts,
        likes=likes,
        listed=listed,
        age_days=age,
        bio_chars=bio_chars,
        handle_chars=handle_chars,
        handle_digits=handle_digits,
        handle_trailing=handle_trailing,
    )
    lf = np.log1p(followers)
    lg = np.log1p(following)
    ratio = lf - lg
    matrix = np.empty((n, len(FEATURES)), dtype=np.float64)
    values: dict[str, FloatArray] = {
        "log_followers": lf,
        "log_following": lg,
        "follow_ratio": ratio,
        "lopsided_following": lg * np.clip(-ratio, 0.0, 1.0),
        "log_posts": np.log1p(posts),
        "log_likes": np.log1p(likes),
        "log_listed": np.log1p(listed),
        "log_age_days": np.log1p(age),
        "posts_per_day": np.log1p(posts / days),
        "likes_per_day": np.log1p(likes / days),
        "following_per_day": np.log1p(following / days),
        "default_avatar": _flag_column([a.has_default_avatar for a in accounts]),
        "has_banner": _flag_column(
            [
                a.has_banner if a.has_banner or a.platform in BANNER_BASE_RATE_PLATFORMS else None
                for a in accounts
            ]
        ),
        "verified": _flag_column([a.verified for a in accounts]),
        "declared_bot": _flag_column([a.declared_bot for a in accounts]),
        "bio_length": np.log1p(bio_chars),
        "has_url": has_url,
        "has_location": has_location,
        "handle_length": handle_chars,
        "handle_digits": handle_digits,
        "handle_trailing_digits": handle_trailing,
        "name_handle_mismatch": mismatch,
    }
    for j, name in enumerate(FEATURE_NAMES):
        matrix[:, j] = values[name]
    return cols, matrix


def extract(accounts: Sequence[Account]) -> FloatArray:
    """The feature matrix alone, shape (len(accounts), len(FEATURES)); NaN = unknown."""
    return extract_columns(accounts)[1]


def known_fractions(x: FloatArray, names: Sequence[str] | None = None) -> dict[str, float]:
    """How often each feature (default: all) is known in a feature matrix, 0..1 (0 when empty)."""
    chosen = tuple(names) if names is not None else FEATURE_NAMES
    if x.shape[0] == 0:
        return dict.fromkeys(chosen, 0.0)
    known = np.mean(~np.isnan(x), axis=0)
    return {n: round(float(known[FEATURE_NAMES.index(n)]), 4) for n in chosen}
