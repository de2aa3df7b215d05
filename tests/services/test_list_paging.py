"""Paging through the board, the review queue and the escalation inbox with a filter, in SQL
windows (keyset and offset): every matching row exactly once, in the order of the whole list,
with ties on the sort times broken by the id; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from duban.models import Escalation, Submission
from duban.rules import Light
from duban.services.board import BoardFilter, board, lateness_key, matches
from duban.services.paging import Slice
from duban.services.review import escalation_inbox, escalation_order, review_order, review_queue
from tests.workspace import make_assignment, make_department, make_policy

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
STATES = ["assigned", "in_progress", "submitted", "approved", "returned", "acknowledged"]


@pytest.fixture
def world(session):
    """Two policies over 14 departments: lights of every colour, shared due times (ties), no due
    time at all, escalations at every level with shared times, and pending submissions."""
    policies = [
        make_policy(session, items=[{"number": 3, "title": f"第{p}号文件的任务"}]) for p in (1, 2)
    ]
    n = 0
    for d in range(14):
        dept = make_department(
            session, f"pg{d:02d}", f"其他{d}" if d % 4 == 1 else f"分页单位{d:02d}"
        )
        for p, policy in enumerate(policies):
            n += 1
            due = None if n % 9 == 0 else NOW + timedelta(days=(n % 5) * 4 - 8)
            a = make_assignment(
                session,
                policy=policy,
                department=dept,
                item_number=3,
                state=STATES[n % len(STATES)],
                periods=0,
                escalation_level=n % 4,
            )
            a.due_at = due
            for level in range(1, n % 4 + 1):
                at = NOW - timedelta(hours=level + p)  # shared between departments: ties
                session.add(
                    Escalation(assignment_id=a.id, period_index=0, level=level, reached_at=at)
                )
            if a.state == "submitted":
                at = NOW - timedelta(hours=n % 3)
                session.add(
                    Submission(
                        key=f"pg{n}",
                        assignment_id=a.id,
                        period_index=0,
                        report="进展",
                        submitted_at=at,
                    )
                )
    session.flush()
    return policies


def _walk(
    read: Callable[[Slice], list[Any]], key: Callable[[Any], tuple[int, ...]], size: int
) -> list[Any]:
    """Read windows of `size` after the key of each window's last row until one comes back short."""
    seen: list[Any] = []
    after: tuple[int, ...] | None = None
    while True:
        rows = read(Slice(after=after, limit=size))
        assert len(rows) <= size + 1  # one more than asked tells that more follow
        page = rows[:size]
        seen += page
        if len(rows) <= size:
            return seen
        after = key(page[-1])


def _pages(read: Callable[[Slice], list[Any]], size: int) -> list[Any]:
    """Read offset pages of `size` until one comes back short."""
    seen: list[Any] = []
    for page in range(100):
        rows = read(Slice(offset=page * size, limit=size))
        seen += rows[:size]
        if len(rows) <= size:
            return seen
    raise AssertionError("never ended")


@pytest.mark.parametrize(
    "filters",
    [
        BoardFilter(q="分页单位"),
        BoardFilter(q="分页单位", light=Light.RED),
        BoardFilter(light=Light.GREEN),
        BoardFilter(level=2),
    ],
    ids=["search", "search+red", "green", "level"],
)
def test_board_windows_cover_a_filtered_board_once_in_order(session, world, filters):
    whole = board(session=session, now=NOW, filters=filters).rows
    assert len(whole) >= 5
    assert [lateness_key(r) for r in whole] == sorted(lateness_key(r) for r in whole)
    if filters.q:
        assert all(filters.q in r.assignment.department.name for r in whole)
    if filters.light:
        assert {r.light.color for r in whole} == {filters.light}

    def read(part: Slice) -> list[Any]:
        found = board(session=session, now=NOW, filters=filters, part=part)
        return found.rows + ([None] if found.more else [])

    def ident(rows: list[Any]) -> list[int]:
        return [r.assignment.id for r in rows]

    for size in (1, 4, 7):
        keyset = _walk(read, lambda r: lateness_key(r), size)
        assert ident(keyset) == ident(whole)
        assert ident(_pages(read, size)) == ident(whole)


def test_the_review_queue_windows_once_in_order(session, world):
    whole = review_queue(session=session, q="分页单位")
    assert len(whole) >= 4 and all("分页单位" in r.assignment.department.name for r in whole)
    assert [review_order(r) for r in whole] == sorted(review_order(r) for r in whole)

    def read(part: Slice) -> list[Any]:
        return review_queue(session=session, q="分页单位", part=part)

    for size in (1, 3):
        assert [r.submission.id for r in _walk(read, review_order, size)] == [
            r.submission.id for r in whole
        ]
        assert [r.submission.id for r in _pages(read, size)] == [r.submission.id for r in whole]


@pytest.mark.parametrize("level", [None, 2])
def test_the_escalation_inbox_windows_once_in_order(session, world, level):
    whole = escalation_inbox(session=session, level=level, q="分页单位")
    assert len(whole) >= 3
    assert len({r.assignment.id for r in whole}) == len(whole)  # each assignment once
    assert [escalation_order(r) for r in whole] == sorted(escalation_order(r) for r in whole)

    def read(part: Slice) -> list[Any]:
        return escalation_inbox(session=session, level=level, q="分页单位", part=part)

    for size in (1, 4):
        assert [r.escalation.id for r in _walk(read, escalation_order, size)] == [
            r.escalation.id for r in whole
        ]
        assert [r.escalation.id for r in _pages(read, size)] == [r.escalation.id for r in whole]


@pytest.mark.parametrize(
    "q", ["分页单位0", "其他", "第1号", "（3）", "3", "pg03", "%", "_", "任务"]
)
def test_the_board_search_in_sql_agrees_with_matches(session, world, q):
    everything = board(session=session, now=NOW, filters=BoardFilter()).rows
    found = board(session=session, now=NOW, filters=BoardFilter(q=q)).rows
    assert [r.assignment.id for r in found] == [
        r.assignment.id for r in everything if matches(r, q)
    ]
