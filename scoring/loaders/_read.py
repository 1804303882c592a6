"""Reading an input: JSON Lines, JSON documents (arrays, API responses) or CSV, by content.

Every record becomes an Account or a RowError carrying its line (or, in a JSON document, its
1-based record number); only an input that is unusable as a whole raises LoadError.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Generator, Iterable, Iterator, Mapping
from datetime import datetime
from itertools import chain
from typing import Any, Final, TextIO

from scoring.account import Account, AccountError
from scoring.loaders._base import MAX_LINE, LoadError, RowError, shown
from scoring.loaders._json import (
    JSONError,
    careful_needed,
    fast_loads,
    loads,
    raw_decode,
    skip_space,
)
from scoring.loaders._records import CSV_MAPPERS, MAPPERS, detect_record, unwrap

__all__ = ["FORMATS", "Reader"]

FORMATS: Final = ("auto", "accounts", "twitter-v1", "x-v2", "bluesky", "mastodon", "instafake")

#: CSV header columns that identify a format.
_CSV_MARKS: Final = (
    ("platform", "accounts"),
    ("screen_name", "twitter-v1"),
    ("userFollowerCount", "instafake"),
)
#: Largest JSON document (array or API response) read whole, in characters.
MAX_DOCUMENT: Final = 256 << 20
#: Items read at most from one API response wrapper or one array on a line.
_MAX_ITEMS: Final = 1_000_000
#: What a mapper may raise on a hostile value besides AccountError: a row error, not a crash.
_ROW_FAULTS: Final = (ValueError, TypeError, ArithmeticError, RecursionError)

#: The text itself, an open text file, or lines (bytes are taken as UTF-8).
Source = TextIO | Iterable[str] | str | bytes
Item = Account | RowError


class _Long:
    """A line longer than MAX_LINE: an error in JSON Lines or CSV, but fine inside a JSON
    document (published arrays are often one line); kept only up to MAX_DOCUMENT."""

    __slots__ = ("text",)

    def __init__(self, text: str | None) -> None:
        self.text = text


Line = str | _Long


def _physical_lines(source: Source) -> Iterator[Line]:
    """Lines of the input, with long lines wrapped in _Long."""
    if isinstance(source, bytes | bytearray):
        try:
            source = bytes(source).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise LoadError(f"the input is not UTF-8 text ({exc.reason})") from None
    if isinstance(source, str):
        source = io.StringIO(source)
    readline = getattr(source, "readline", None)
    try:
        if readline is None:  # an iterable of lines, with or without their line breaks
            for line in source:
                if not isinstance(line, str):
                    raise LoadError(f"expected lines of text, got {type(line).__name__}")
                if len(line) > MAX_LINE:
                    yield _Long(line if len(line) <= MAX_DOCUMENT else None)
                else:
                    yield line if line.endswith("\n") else line + "\n"
            return
        first = True
        while line := readline(MAX_LINE + 1):
            if first and not isinstance(line, str):
                raise LoadError("the input is a binary stream; open it as UTF-8 text")
            first = False
            if len(line) > MAX_LINE and not line.endswith("\n"):
                parts, size = [line], len(line)
                while (rest := readline(MAX_LINE)) and not rest.endswith("\n"):
                    size += len(rest)
                    if size <= MAX_DOCUMENT:
                        parts.append(rest)
                parts.append(rest)
                size += len(rest)
                yield _Long("".join(parts) if size <= MAX_DOCUMENT else None)
            else:
                yield line
    except UnicodeDecodeError as exc:
        raise LoadError(f"the input is not UTF-8 text ({exc.reason})") from None


def _huge(line: int) -> RowError:
    return RowError(line, f"line longer than {MAX_LINE // (1 << 20)} MiB; skipped")


def _document_text(lines: Iterable[Line]) -> str:
    parts: list[str] = []
    size = 0
    for line in lines:
        text = line.text if isinstance(line, _Long) else line
        if text is None or size + len(text) > MAX_DOCUMENT:
            raise LoadError(f"a JSON document larger than {MAX_DOCUMENT >> 20} MiB")
        size += len(text)
        parts.append(text)
    return "".join(parts)


#: Columns of the neutral account shape besides ``platform`` (its CSV form).
_NEUTRAL_COLUMNS = frozenset(
    {"id", "handle", "display_name", "followers_count", "following_count", "posts_count"}
)


def _unknown_header(header: list[str]) -> str:
    """Why a CSV header was not recognised, and what would make it readable."""
    names = ", ".join(shown(name) for name in header[:8])
    if _NEUTRAL_COLUMNS.intersection(header):
        return (
            f"the CSV looks like the neutral account shape but has no platform column ({names}): "
            "add one (bluesky, mastodon, x, instagram, ...) to every row"
        )
    return (
        f"the CSV header names no known columns ({names}): the neutral shape needs platform and "
        "id, twitter-v1 screen_name, instafake userFollowerCount"
    )


class Reader:
    """One pass over one input; ``format`` is the detected format once reading has begun."""

    def __init__(self, source: Source, fmt: str = "auto", observed_at: datetime | None = None):
        if fmt not in FORMATS:
            raise LoadError(f"unknown format {str(fmt)[:40]!r}; use one of {', '.join(FORMATS)}")
        self.format = fmt
        self._fixed = fmt != "auto"
        self._observed_at = observed_at
        self._source = source
        #: Line (or record number) of the record read last; for messages about the stream.
        self.position = 0
        #: Records read, and (with a format given) how many look like another format's.
        self.records = 0
        self._unlike: dict[str, int] = {}

    # -- records ---------------------------------------------------------------------------

    def _one(self, obj: Any, line: int, where: str, record: int, hint: str | None = None) -> Item:
        """One decoded record -> Account, or RowError saying why not. ``hint`` is the format
        of the API response the record came in, for records too broken to recognise."""
        if not isinstance(obj, Mapping):
            return RowError(line, f"{where}expected a JSON object, got {_kind(obj)}")
        fmt = self.format
        self.records += 1
        if fmt == "accounts" and "platform" in obj:  # the lean path for neutral rows
            kind: str | None = fmt
        else:
            kind = detect_record(obj) or hint
        if kind is None:
            return RowError(line, f"{where}not an account record (keys: {_keys(obj)})")
        if self._fixed and kind != fmt:
            self._unlike[kind] = self._unlike.get(kind, 0) + 1
        if kind != fmt and not self._fixed:
            if fmt == "auto":
                self.format = fmt = kind
            else:
                return RowError(line, f"{where}a {kind} record in input read as {fmt}")
        try:
            return MAPPERS[fmt](obj, self._observed_at, record)
        except _ROW_FAULTS as exc:
            return RowError(line, f"{where}{_fault(exc)}")

    def format_warning(self) -> str | None:
        """A warning when most records read look like another format's than the one given."""
        if not self._unlike:
            return None
        kind, count = max(self._unlike.items(), key=lambda kv: kv[1])
        if 2 * count <= self.records:
            return None
        return (
            f"{count:,} of {self.records:,} records look like {kind} records, not {self.format}: "
            f"their fields may be misread; check --format (auto detects {kind})"
        )

    def _items(self, obj: Any) -> tuple[list[Any], str | None] | None:
        """The records a list or an API response holds, with the response's format; None for
        a single record."""
        if isinstance(obj, list):
            return obj[:_MAX_ITEMS], None
        if isinstance(obj, Mapping) and detect_record(obj) is None:
            wrapped = unwrap(obj)
            if wrapped is not None:
                kind, items = wrapped
                if self.format == "auto":
                    self.format = kind
                return items[:_MAX_ITEMS], kind
        return None

    def _line_records(self, obj: Any, line: int) -> Iterator[Item]:
        """The records of one JSON Lines line: one record, or the items of a wrapper/list."""
        expanded = self._items(obj)
        if expanded is None:
            yield self._one(obj, line, "", line)
            return
        items, hint = expanded
        for k, item in enumerate(items, 1):
            yield self._one(item, line, f"item {k}: ", k, hint)

    def _document_records(self, obj: Any, record: int) -> Generator[Item, None, int]:
        """The records of one top-level value of a document, numbered on from ``record``."""
        items, hint = self._items(obj) or ([obj], None)
        for item in items:
            record += 1
            self.position = record
            yield self._one(item, record, f"record {record}: ", record, hint)
        return record

    # -- containers ------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Item]:
        """Pick the container by the first non-blank line: ``[`` a JSON document, ``{`` JSON
        Lines (or a pretty-printed document), anything else CSV with a header."""
        lines = _physical_lines(self._source)
        number = 0
        first: Line | None = None
        for raw in lines:
            number += 1
            text = raw.text if isinstance(raw, _Long) else raw
            if text is None:
                raise LoadError(f"line {number} is larger than {MAX_DOCUMENT >> 20} MiB")
            if number == 1:
                text = text.removeprefix("\ufeff")
                raw = _Long(text) if isinstance(raw, _Long) else text
            if text.strip():
                first = raw
                break
        if first is None:
            return
        text = first.text if isinstance(first, _Long) else first
        assert text is not None
        if "\x00" in text[:MAX_LINE] or _looks_binary(text):
            raise LoadError("the input is binary data, not JSON or CSV text")
        head = text.lstrip()[:1]
        rest = chain([first], lines)
        if head == "[" or (head == "{" and isinstance(first, _Long)):
            yield from self._document(rest)
        elif head == "{":
            yield from self._json_lines_or_document(rest, number)
        elif isinstance(first, _Long):
            raise LoadError(f"line {number} is longer than {MAX_LINE >> 20} MiB")
        else:
            yield from self._csv(rest, number)

    def _json_lines_or_document(self, lines: Iterator[Line], start: int) -> Iterator[Item]:
        first = next(lines)
        assert isinstance(first, str)
        try:
            value = loads(first)
        except JSONError:
            value = None
        if isinstance(value, Mapping):
            yield from self._json_lines(chain([first], lines), start)
            return
        # Not one object per line: a pretty-printed document, or JSON Lines with a bad line 1.
        kept = [first, *lines]
        if any(isinstance(line, _Long) for line in kept):
            yield from self._json_lines(iter(kept), start)
            return
        text = _document_text(kept)
        try:
            raw_decode(text, len(text) - len(text.lstrip()))
        except (json.JSONDecodeError, RecursionError):
            second = next((line for line in kept[1:] if isinstance(line, str) and line.strip()), "")
            if second.lstrip().startswith("{"):
                yield from self._json_lines(iter(kept), start)
                return
        yield from self._document(iter(kept))

    def _json_lines(self, lines: Iterator[Line], start: int) -> Iterator[Item]:
        """One JSON value per physical line; blank lines are skipped.

        Neutral rows take a lean path (decode, Account.from_dict) since scoring a large file
        is dominated by it; everything else goes through detection and the mappers.
        """
        number = start - 1
        seen = self._observed_at
        from_dict = Account.from_dict
        for raw in lines:
            number += 1
            if type(raw) is not str:
                yield _huge(number)
                continue
            try:
                obj = fast_loads(raw)
            except (ValueError, RecursionError):
                if not raw or raw.isspace():
                    continue
                try:
                    obj = loads(raw)
                except JSONError as exc:
                    self.position = number
                    yield RowError(number, f"{exc}{_truncated(raw)}")
                    continue
            self.position = number
            if type(obj) is dict and self.format == "accounts" and "platform" in obj:
                if seen is not None and obj.get("observed_at") is None:
                    obj["observed_at"] = seen
                try:
                    yield from_dict(obj)
                except _ROW_FAULTS as exc:
                    yield RowError(number, _fault(exc))
                continue
            yield from self._line_records(obj, number)

    def _document(self, lines: Iterable[Line]) -> Iterator[Item]:
        """One or more JSON values (an array, an API response), records numbered from 1."""
        text = _document_text(lines)
        careful = careful_needed(text)
        pos = len(text) - len(text.lstrip())
        record = 0
        while pos < len(text):
            if text[pos] == "[":
                pos, record = yield from self._array(text, pos, record, careful)
            else:
                try:
                    obj, pos = raw_decode(text, pos, careful)
                except (json.JSONDecodeError, RecursionError) as exc:
                    yield self._broken(text, pos, record + 1, exc)
                    return
                record = yield from self._document_records(obj, record)
            pos = skip_space(text, pos)

    def _array(
        self, text: str, pos: int, record: int, careful: bool
    ) -> Generator[Item, None, tuple[int, int]]:
        """Decode an array element by element so that one bad element keeps the ones before."""
        pos = skip_space(text, pos + 1)
        if text.startswith("]", pos):
            return pos + 1, record
        while True:
            try:
                obj, pos = raw_decode(text, pos, careful)
            except (json.JSONDecodeError, RecursionError) as exc:
                yield self._broken(text, pos, record + 1, exc)
                return len(text), record
            record = yield from self._document_records(obj, record)
            pos = skip_space(text, pos)
            if text.startswith(",", pos):
                pos = skip_space(text, pos + 1)
            elif text.startswith("]", pos):
                return pos + 1, record
            else:
                yield RowError(
                    record + 1,
                    f"record {record + 1}: expected ',' or ']' at line "
                    f"{text.count(chr(10), 0, pos) + 1}; the rest was not read",
                )
                return len(text), record

    @staticmethod
    def _broken(text: str, pos: int, record: int, exc: Exception) -> RowError:
        where = f"line {text.count(chr(10), 0, pos) + 1}"
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        return RowError(
            record, f"record {record}: invalid JSON ({why}) at {where}; the rest was not read"
        )

    def _csv(self, lines: Iterator[Line], start: int) -> Iterator[Item]:
        first = next(lines)
        assert isinstance(first, str)
        delimiter = max(",;\t", key=first.count)  # comma, or the semicolon/tab of some exports
        try:
            header = [name.strip() for name in next(csv.reader([first], delimiter=delimiter), [])]
        except csv.Error as exc:
            raise LoadError(f"the CSV header line is unreadable: {exc}") from None
        if len(header) < 2:
            raise LoadError("the input is neither JSON nor CSV with a header line")
        fmt = self.format
        if not self._fixed:
            found = [name for mark, name in _CSV_MARKS if mark in header]
            if not found:
                raise LoadError(_unknown_header(header))
            fmt = self.format = found[0]
        elif fmt not in CSV_MAPPERS:
            raise LoadError(f"CSV input is read as accounts, twitter-v1 or instafake, not {fmt}")
        if fmt == "accounts" and "platform" not in header:
            raise LoadError(_unknown_header(header))
        if fmt != "instafake" and "id" not in header and "id_str" not in header:
            raise LoadError("the CSV header has no id column")
        yield from self._csv_rows(lines, header, fmt, start, delimiter)

    def _csv_rows(
        self, lines: Iterator[Line], header: list[str], fmt: str, start: int, delimiter: str
    ) -> Iterator[Item]:
        huge: list[int] = []
        number = start

        def feed() -> Iterator[str]:
            nonlocal number
            for raw in lines:
                number += 1
                if isinstance(raw, _Long):
                    huge.append(number)
                    yield "\n"
                else:
                    yield raw

        reader = csv.reader(feed(), delimiter=delimiter)
        mapper = CSV_MAPPERS[fmt]
        width = len(header)
        record = 0
        row_start = start + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                yield RowError(row_start, f"unreadable CSV row: {exc}")
                row_start = number + 1
                continue
            while huge:
                yield _huge(huge.pop(0))
            line, row_start = row_start, number + 1
            self.position = line
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            record += 1
            if len(cells) != width:
                yield RowError(line, f"expected {width} cells, got {len(cells)}")
                continue
            row = dict(zip(header, cells, strict=True))
            try:
                yield mapper(row, self._observed_at, record)
            except _ROW_FAULTS as exc:
                yield RowError(line, _fault(exc))
        while huge:
            yield _huge(huge.pop(0))


def _kind(obj: Any) -> str:
    if obj is None:
        return "null"
    return {list: "an array", str: "a string", bool: "a boolean"}.get(type(obj), "a number")


def _keys(obj: Mapping[str, Any]) -> str:
    names = [shown(key) for key in list(obj)[:6]]
    return ", ".join(names) + (", ..." if len(obj) > 6 else "") if names else "none"


def _fault(exc: Exception) -> str:
    """A mapper's error as a row message: AccountError says itself; anything else is named."""
    if isinstance(exc, AccountError):
        return str(exc)
    return f"unreadable record ({type(exc).__name__})"


def _truncated(raw: str) -> str:
    return "" if raw.endswith("\n") else " (the line may be truncated)"


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    odd = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n\f") + sample.count("\ufffd")
    return odd > max(8, len(sample) // 20)
