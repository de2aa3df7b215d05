"""The department inbox: lights, counts and one keyset page of assignments, computed by the database.

The light of duban.rules.status_light is mirrored once in SQL (`duban.services.light.light_rank`, shared with the board), so the database
counts, filters, sorts and pages by it; the rows of the page get their light and its reason from
the rule itself. A target projected to miss (a least-squares trend, `duban.rules.project_target`)
can only turn a light amber that the dates leave green; the few assignments where that is
possible (`light_rank` differs with and without a miss, and they have reported actuals) are
projected in Python first (`duban.services.light.projected`), and their ids enter the SQL.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    case,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from duban.errors import Invalid
from duban.models import Assignment
from duban.rules import (
    DONE_STATES,
    LIGHT_RANK,
    Light,
    StatusLight,
    status_light,
)
from duban.services.assignment import item_ref, item_title, search, select_with_item, with_item
from duban.services.light import done_flag, light_rank, projected
from duban.services.paging import PAGE_SIZE, SortKey, decode_cursor, encode_cursor

RANK_LIGHT = {rank: light for light, rank in LIGHT_RANK.items()}
NO_DUE = datetime(1970, 1, 1, tzinfo=UTC)  # stands in for a missing due date in the sort key
KEY_PARTS = 6
MAX_ID = 2**31 - 1  # the id columns are 32-bit on PostgreSQL


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox is narrowed to; empty values mean no filter."""

    light: Light | None = None
    state: str | None = None
    role: str | None = None
    q: str = ""

    @property
    def active(self) -> bool:
        """Tell whether anything narrows the rows."""
        return bool(self.light or self.state or self.role or self.q.strip())


@dataclass(frozen=True)
class InboxRow:
    """One assignment as the inbox shows it."""

    assignment: Assignment
    title: str
    light: StatusLight
    ref: str


@dataclass(frozen=True)
class Inbox:
    """One page of the rows, sorted by urgency; the counts of every light before filtering, how
    many rows there are in all and how many match, and the cursor of the next page (None: last)."""

    rows: list[InboxRow]
    counts: dict[Light, int] = field(default_factory=dict)
    total: int = 0
    matched: int = 0
    next: str | None = None


def _scope(department_id: int | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Assignment.removed_in_version.is_(None)]
    if department_id is not None:
        where.append(Assignment.department_id == department_id)
    return where


def sort_key(now: datetime, missed: Collection[int], me: int | None) -> list[Any]:
    """Return the inbox order in SQL: the user's own first, open before finished, then
    rules.urgency_key (red, amber, green; earlier due first, none last), the id breaking ties."""
    mine = case((Assignment.assignee_id == me, 0), else_=1) if me is not None else literal(1)
    return [
        mine,
        done_flag(),
        light_rank(now=now, missed=missed),
        case((Assignment.due_at.is_(None), 1), else_=0),
        func.coalesce(Assignment.due_at, NO_DUE),
        Assignment.id,
    ]


def _cursor_key(cursor: str) -> tuple[Any, ...]:
    """Return the sort key of a cursor, its due date a datetime again; raise Invalid if not ours
    (the wrong shape, flags out of their range, an id past the column's, a bad or naive date)."""
    bad = Invalid("翻页游标无效：它不属于这个列表。")
    key: SortKey = decode_cursor(cursor)
    if len(key) != KEY_PARTS or not isinstance(key[4], str):
        raise bad
    numbers = [key[i] for i in (0, 1, 2, 3, 5)]
    if not all(type(v) is int for v in numbers):
        raise bad
    flags, aid = [int(v) for v in numbers[:4]], int(numbers[4])
    if not all(0 <= v <= 2 for v in flags) or not 0 <= aid <= MAX_ID:
        raise bad
    try:
        due = datetime.fromisoformat(key[4])
        if due.tzinfo is None:
            raise bad
        due = due.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise bad from exc
    return (*flags, due, aid)


def _encode(a: Assignment, rank: int, me: int | None) -> str:
    due = a.due_at if a.due_at is not None else NO_DUE
    mine = 0 if me is not None and a.assignee_id == me else 1
    finished = 1 if a.state in DONE_STATES else 0
    null = 1 if a.due_at is None else 0
    return encode_cursor((mine, finished, rank, null, due.astimezone(UTC).isoformat(), a.id))


def _narrow(stmt: Select[Any], filters: InboxFilter, rank: ColumnElement[int]) -> Select[Any]:
    """Apply the light, state and role filters and the search (which needs the item's text)."""
    if filters.light is not None:
        stmt = stmt.where(rank == LIGHT_RANK[filters.light])
    if filters.state:
        stmt = stmt.where(Assignment.state == filters.state)
    if filters.role:
        stmt = stmt.where(Assignment.role == filters.role)
    if filters.q.strip():
        stmt = search(with_item(stmt), filters.q)
    return stmt


def light_counts(
    session: Session, where: list[ColumnElement[bool]], now: datetime, missed: Collection[int]
) -> dict[tuple[bool, Light], int]:
    """Return how many assignments show each light, finished ones apart (one GROUP BY)."""
    # Grouped through a subquery: PostgreSQL does not match a CASE with bound parameters in
    # GROUP BY to the same CASE in the select list.
    rows = select(done_flag().label("finished"), light_rank(now=now, missed=missed).label("rank"))
    each = rows.where(*where).subquery()
    stmt = select(each.c.finished, each.c.rank, func.count()).group_by(each.c.finished, each.c.rank)
    return {(bool(f), RANK_LIGHT[int(r)]): int(n) for f, r, n in session.execute(stmt)}


def inbox(
    *,
    session: Session,
    department_id: int | None,
    now: datetime,
    filters: InboxFilter,
    me: int | None = None,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> Inbox:
    """Return one page of a department's assignments (all when None), filtered, sorted by urgency
    and counted per light; the page starts after `cursor` (the `next` of the previous page).

    Those handed to the user `me` by name come first. An assignment a newer policy version
    no longer names is left out (its page stays).
    """
    where = _scope(department_id)
    misses = projected(session=session, now=now, where=where)
    counts = dict.fromkeys(Light, 0)
    for (_, light), n in light_counts(session, where, now, misses).items():
        counts[light] += n
    total = sum(counts.values())
    rank = light_rank(now=now, missed=misses)
    narrowed = _narrow(select(Assignment.id).where(*where), filters, rank)
    matched = total
    if filters.active:
        counted = select(func.count()).select_from(narrowed.subquery())
        matched = int(session.scalar(counted) or 0)
    # The keys sort narrow rows; only the page's rows are read whole, with their items.
    key = sort_key(now, misses, me)
    keyed = narrowed.add_columns(rank).order_by(*key).limit(limit + 1)
    if cursor is not None:
        keyed = keyed.where(tuple_(*key) > tuple_(*_cursor_key(cursor)))
    ids = [(int(aid), int(r)) for aid, r in session.execute(keyed)]
    more = len(ids) > limit
    ids = ids[:limit]
    loaded = select_with_item().where(Assignment.id.in_([aid for aid, _ in ids]))
    by_id = {a.id: (a, item) for a, item in session.execute(loaded).unique()}
    rows = []
    for aid, _ in ids:
        a, item = by_id[aid]
        shown = status_light(due_at=a.due_at, now=now, state=a.state, miss=misses.get(aid))
        rows.append(InboxRow(a, item_title(a, item), shown, item_ref(a, item)))
    last = ids[-1] if ids and more else None
    return Inbox(
        rows=rows,
        counts=counts,
        total=total,
        matched=matched,
        next=_encode(by_id[last[0]][0], last[1], me) if last is not None else None,
    )


def traffic(*, session: Session, department_id: int | None, now: datetime) -> dict[str, int]:
    """Count the inbox's assignments per light, done ones apart (the home page's summary)."""
    where = _scope(department_id)
    counts = {"total": 0, "green": 0, "amber": 0, "red": 0, "done": 0}
    found = light_counts(session, where, now, projected(session=session, now=now, where=where))
    for (finished, light), n in found.items():
        counts["total"] += n
        counts["done" if finished else light.value] += n
    return counts
