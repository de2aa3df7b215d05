"""The inbox in SQL: its light agrees with rules.status_light, and its keyset pages cover the
filtered rows once, in rules.urgency_key order. On SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from duban.errors import Invalid
from duban.models import Assignment
from duban.rules import LIGHT_RANK, Light, Projection, status_light, urgency_key
from duban.services.inbox import InboxFilter, inbox, traffic
from duban.services.light import light_rank
from duban.services.paging import encode_cursor
from tests.workspace import make_assignment, make_department, make_policy, make_user

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
STATES = ["assigned", "acknowledged", "in_progress", "submitted", "returned", "approved"]
STATES += ["completed", "head_review"]
OFFSETS = [
    None,
    timedelta(days=-3),
    timedelta(0),
    timedelta(seconds=1),
    timedelta(days=7),
    timedelta(days=7, seconds=1),
    timedelta(days=40),
]
MISS = Projection(1.0, 10.0, "个", "at_least", NOW.date() + timedelta(days=90), meets=False)


def _add(session, policy, dept, number, state, offset, **extra):
    a = make_assignment(
        session, policy=policy, department=dept, item_number=number, state=state, periods=0, **extra
    )
    a.due_at = None if offset is None else NOW + offset
    return a


@pytest.fixture
def grid(session):
    """One assignment per (state, due date): every case of the rule."""
    policy = make_policy(session, items=[{"number": n, "title": f"任务{n}"} for n in range(1, 60)])
    dept = make_department(session)
    cases = list(itertools.product(STATES, OFFSETS))
    rows = [_add(session, policy, dept, i + 1, s, o) for i, (s, o) in enumerate(cases)]
    session.flush()
    return dept, rows


@pytest.mark.parametrize("missed", [False, True])
def test_light_rank_agrees_with_status_light(session, grid, missed):
    _, rows = grid
    ids = [a.id for a in rows] if missed else []
    found = dict(session.execute(select(Assignment.id, light_rank(now=NOW, missed=ids))).all())
    for a in rows:
        rule = status_light(due_at=a.due_at, now=NOW, state=a.state, miss=MISS if missed else None)
        assert found[a.id] == LIGHT_RANK[rule.color], (a.state, a.due_at)


def _expected(rows, me=None):
    def key(a):
        light = status_light(due_at=a.due_at, now=NOW, state=a.state)
        return (me is None or a.assignee_id != me, *urgency_key(light, a.due_at, a.state), a.id)

    return [a.id for a in sorted(rows, key=key)]


def _walk(session, dept, filters, limit, me=None):
    seen, cursor, pages = [], None, 0
    while True:
        box = inbox(
            session=session,
            department_id=dept.id,
            now=NOW,
            filters=filters,
            me=me,
            cursor=cursor,
            limit=limit,
        )
        seen += [r.assignment.id for r in box.rows]
        pages += 1
        assert len(box.rows) <= limit
        if box.next is None:
            return seen, box, pages
        cursor = box.next


@pytest.mark.parametrize(
    "filters",
    [InboxFilter(), InboxFilter(role="co"), InboxFilter(light=Light.RED), InboxFilter(q="任务")],
)
def test_pages_with_a_filter_cover_every_row_once_in_urgency_order(session, grid, filters):
    dept, rows = grid
    for a in rows[::3]:
        a.role = "co"
    session.flush()
    wanted = [
        a
        for a in rows
        if filters.role in (None, a.role)
        and filters.light in (None, status_light(due_at=a.due_at, now=NOW, state=a.state).color)
    ]
    seen, box, pages = _walk(session, dept, filters, limit=4)
    assert seen == _expected(wanted)
    assert len(set(seen)) == len(seen)
    assert pages == max(1, -(-len(wanted) // 4))
    assert box.matched == len(wanted) and box.total == len(rows)
    colors = [status_light(due_at=a.due_at, now=NOW, state=a.state).color for a in rows]
    assert box.counts == {light: colors.count(light) for light in Light}


def test_the_users_own_come_first_on_every_page(session, grid):
    dept, rows = grid
    me = make_user(session, "staff", dept)
    mine = rows[5::7]
    for a in mine:
        a.assignee_id = me.id
    session.flush()
    seen, _, _ = _walk(session, dept, InboxFilter(), limit=6, me=me.id)
    assert seen == _expected(rows, me=me.id)
    assert set(seen[: len(mine)]) == {a.id for a in mine}


def test_rows_added_between_pages_neither_repeat_nor_shift_the_rest(session, grid):
    dept, rows = grid
    first = inbox(session=session, department_id=dept.id, now=NOW, filters=InboxFilter(), limit=5)
    extra = make_assignment(
        session,
        policy=rows[0].policy,
        department=dept,
        item_number=59,
        periods=0,
        due_at=NOW - timedelta(days=30),  # red, the most urgent: sorts before the cursor
    )
    rest, _, _ = _walk_from(session, dept, first.next)
    assert extra.id not in rest
    assert [r.assignment.id for r in first.rows] + rest == _expected(rows)


def _walk_from(session, dept, cursor):
    seen = []
    while cursor is not None:
        box = inbox(
            session=session,
            department_id=dept.id,
            now=NOW,
            filters=InboxFilter(),
            cursor=cursor,
            limit=7,
        )
        seen += [r.assignment.id for r in box.rows]
        cursor = box.next
    return seen, None, None


@pytest.mark.parametrize(
    "key",
    [
        ("a", 1),
        (1, 0, 2, 0, "yesterday", 5),
        (1, 0, 2, 0, "2026-06-01T08:00:00", 5),  # naive
        (1, 0, 2, 0, 5, 5),
        (1, 0, 2, 0, "2026-06-01T08:00:00+00:00", 2**40),  # past the id column
        (10**20, 0, 2, 0, "2026-06-01T08:00:00+00:00", 5),
        (1, 0, 2.5, 0, "2026-06-01T08:00:00+00:00", 5),
        (1, 0, 2, 0, "0001-01-01T00:00:00+14:00", 5),  # before year 1 in UTC
    ],
)
def test_a_cursor_not_of_the_inbox_is_invalid(session, grid, key):
    dept, _ = grid
    with pytest.raises(Invalid):
        inbox(
            session=session,
            department_id=dept.id,
            now=NOW,
            filters=InboxFilter(),
            cursor=encode_cursor(key),
        )


def test_traffic_counts_agree_with_the_rule(session, grid):
    dept, rows = grid
    counts = traffic(session=session, department_id=dept.id, now=NOW)
    done = [a for a in rows if a.state in ("approved", "completed")]
    assert counts["done"] == len(done) and counts["total"] == len(rows)
    for light in Light:
        assert counts[light.value] == sum(
            1
            for a in rows
            if a not in done
            and status_light(due_at=a.due_at, now=NOW, state=a.state).color is light
        )
