"""Paging: offset pages for the pages people read, keyset windows for the API."""

from __future__ import annotations

import base64
import bisect
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from duban.errors import Invalid

PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000
T = TypeVar("T")


@dataclass(frozen=True)
class Paged(Generic[T]):
    """The rows of one page (1-based), the page size and how many rows there are in all."""

    items: list[T]
    page: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        """Return how many pages the rows fill (at least one)."""
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        """Return the 1-based position of the page's first row (0 when empty)."""
        return (self.page - 1) * self.size + 1 if self.items else 0

    @property
    def last(self) -> int:
        """Return the 1-based position of the page's last row."""
        return self.first + len(self.items) - 1 if self.items else 0


def paginate(rows: Sequence[T], *, page: int, size: int) -> Paged[T]:
    """Return one page of rows already in memory (a page past the end is empty, not an error)."""
    start = (page - 1) * size
    return Paged(list(rows[start : start + size]), page, size, len(rows))


# Keyset paging for the API: a page starts after the sort key of the last row a client saw, so
# rows added meanwhile neither repeat nor push rows past it (offsets would). The cursor is that
# key, opaque to clients (base64url of a JSON array).
API_LIMIT = 500  # generous: clients written before paging got every row and still do
MAX_API_LIMIT = 1000
CURSOR_MAX_CHARS = 512
KeyPart = int | float | str
SortKey = tuple[KeyPart, ...]


@dataclass(frozen=True)
class Window(Generic[T]):
    """The rows of one keyset page and the cursor of the next (None: this was the last)."""

    items: list[T]
    next: str | None


def instant(moment: datetime | None) -> float:
    """A sortable number for a time (naive ones are UTC, as SQLite hands them back); None last."""
    if moment is None:
        return 1e18
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def encode_cursor(key: SortKey) -> str:
    """Return the opaque cursor of a sort key."""
    raw = json.dumps(list(key), ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> SortKey:
    """Return the sort key of a cursor, or raise Invalid (a 422) for anything not one of ours."""
    bad = Invalid("翻页游标无效：请使用上一页返回的 next。")
    if len(cursor) > CURSOR_MAX_CHARS:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw.decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad from exc
    if not isinstance(value, list) or not value:
        raise bad
    if not all(isinstance(v, int | float | str) and not isinstance(v, bool) for v in value):
        raise bad
    if any(isinstance(v, float) and not math.isfinite(v) for v in value):
        raise bad
    return tuple(value)


def _same_shape(a: SortKey, b: SortKey) -> bool:
    if len(a) != len(b):
        return False
    return all(isinstance(x, str) == isinstance(y, str) for x, y in zip(a, b, strict=True))


def keyset_window(
    rows: Sequence[T], *, key: Callable[[T], SortKey], cursor: str | None, limit: int
) -> Window[T]:
    """Return up to `limit` of `rows` (sorted by `key`, unique) after the cursor's key."""
    keys = [key(r) for r in rows]
    start = 0
    if cursor is not None:
        after = decode_cursor(cursor)
        if keys and not _same_shape(after, keys[0]):
            raise Invalid("翻页游标无效：它不属于这个列表。")
        start = bisect.bisect_right(keys, after)
    items = list(rows[start : start + limit])
    more = start + limit < len(rows)
    return Window(items, encode_cursor(keys[start + limit - 1]) if more and items else None)


# Keyset paging in SQL: a list's cursor is its name and its sort key as whole numbers (times in
# microseconds since the epoch), so the database compares it with a row value and a cursor of
# another list, or of the older in-memory scheme (floats), is refused.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NEVER = datetime(9999, 12, 31, tzinfo=UTC)  # where a missing time sorts (last)


@dataclass(frozen=True)
class Slice:
    """Which rows of a sorted list to read: after a sort key (keyset), or from an offset, up
    to `limit` (None: all)."""

    after: tuple[int, ...] | None = None
    offset: int = 0
    limit: int | None = None


def micros(moment: datetime | None) -> int:
    """Return a time as whole microseconds since the epoch (None as NEVER; naive ones are UTC)."""
    moment = moment or NEVER
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


def of_micros(value: int) -> datetime:
    """Return the time of `micros` (refusing values no datetime holds with Invalid)."""
    try:
        return EPOCH + timedelta(microseconds=value)
    except OverflowError as exc:
        raise Invalid("翻页游标无效：它不属于这个列表。") from exc


def list_cursor(name: str, key: tuple[int, ...]) -> str:
    """Return the cursor of the list `name` after the row whose sort key is `key`."""
    return encode_cursor((name, *key))


def list_key(name: str, cursor: str, parts: int, *, times: tuple[int, ...] = ()) -> tuple[int, ...]:
    """Return the sort key of a cursor of the list `name` with `parts` numbers, else raise Invalid.

    The numbers at `times` are microseconds (64 bits); the others must fit a 32-bit column.
    """
    found = decode_cursor(cursor)
    key = found[1:]
    if found[0] != name or len(key) != parts or not all(type(v) is int for v in key):
        raise Invalid("翻页游标无效：它不属于这个列表。")
    numbers = tuple(int(v) for v in key)
    for i, v in enumerate(numbers):
        if abs(v) >= (2**62 if i in times else 2**31):
            raise Invalid("翻页游标无效：它不属于这个列表。")
    return numbers


def sql_window(rows: Sequence[T], *, limit: int, cursor: Callable[[T], str]) -> Window[T]:
    """Return the first `limit` of `rows` (fetched with LIMIT limit + 1) and the next cursor."""
    items = list(rows[:limit])
    more = len(rows) > limit and bool(items)
    return Window(items, cursor(items[-1]) if more else None)
