"""Overdue board and supervisor queues over the read model, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from duban.errors import Conflict, NotFound
from duban.models import AssignmentPeriod, Escalation, Extension, Submission
from duban.services.assignment import Light
from duban.services.board import BoardFilter, GroupWindow, board, options, quarter_of
from duban.services.review import (
    escalation_counts,
    escalation_inbox,
    extension_of,
    extension_queue,
    pending_submission,
    review_queue,
)
from tests.workspace import make_assignment, make_department, make_policy

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ITEMS = [
    {"number": 5, "title": "保持主要帮扶政策总体稳定", "section": 2},
    {"number": 9, "title": "做好易地扶贫搬迁后续帮扶", "section": 3, "section_title": "聚焦重点"},
]


@pytest.fixture
def world(session):
    policy = make_policy(session, items=ITEMS)
    fpb, czt = (
        make_department(session, "fpb", "省扶贫办"),
        make_department(session, "czt", "省财政厅"),
    )
    rows = {
        "late30": make_assignment(
            session,
            policy=policy,
            department=fpb,
            due_at=NOW - timedelta(days=30),
            escalation_level=2,
        ),
        "late2": make_assignment(
            session,
            policy=policy,
            department=czt,
            role="co",
            due_at=NOW - timedelta(days=2),
            escalation_level=1,
        ),
        "soon": make_assignment(
            session, policy=policy, department=fpb, item_number=9, due_at=NOW + timedelta(days=3)
        ),
        "sent": make_assignment(
            session,
            policy=policy,
            department=czt,
            item_number=9,
            state="submitted",
            due_at=NOW - timedelta(days=1),
        ),
    }
    return policy, rows


def ids(rows) -> list[int]:
    return [r.assignment.id for r in rows]


def test_rows_sorted_by_lateness_with_days_late(session, world):
    _, a = world
    found = board(session=session, now=NOW, filters=BoardFilter())
    assert ids(found.rows) == [a["late30"].id, a["late2"].id, a["soon"].id, a["sent"].id]
    assert [r.days_late for r in found.rows] == [30, 2, 0, 0]
    assert found.counts == {Light.RED: 2, Light.AMBER: 1, Light.GREEN: 1}
    assert found.total == 4


def test_filters_by_policy_section_item_department_level_light(session, world):
    policy, a = world

    def only(**kw):
        return set(ids(board(session=session, now=NOW, filters=BoardFilter(**kw)).rows))

    assert only(policy=policy.key) == {x.id for x in a.values()}
    assert only(policy="nope") == set()
    assert only(section=3) == {a["soon"].id, a["sent"].id}
    assert only(item=5, department="czt") == {a["late2"].id}
    assert only(level=2) == {a["late30"].id}
    assert only(light=Light.AMBER) == {a["soon"].id}
    narrowed = board(session=session, now=NOW, filters=BoardFilter(light=Light.RED))
    assert narrowed.counts[Light.GREEN] == 1  # the counts ignore the light filter


def test_period_filter_uses_original_due_in_china_quarter(session, world):
    _, a = world
    first_due = a["late30"].due_at
    label = quarter_of(first_due)
    found = board(session=session, now=NOW, filters=BoardFilter(period=label))
    assert a["late30"].id in ids(found.rows)
    far = board(session=session, now=NOW, filters=BoardFilter(period="2030Q1"))
    assert far.rows == []
    assert quarter_of(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == "2027Q1"  # 01:00 in Beijing


def test_groups_and_heat_map(session, world):
    _, a = world
    depts = {
        g.key: g
        for g in board(
            session=session, now=NOW, filters=BoardFilter(), groups=GroupWindow("department")
        ).by_department
    }
    assert depts["fpb"].counts[Light.RED] == 1 and depts["fpb"].worst == Light.RED
    by_task = board(
        session=session, now=NOW, filters=BoardFilter(), groups=GroupWindow("task")
    ).by_task
    assert by_task[0].name.startswith("（5）")
    found = board(session=session, now=NOW, filters=BoardFilter(), groups=GroupWindow("heat"))
    task5 = f"{a['late30'].policy.key}#5"
    cell = found.heat[("fpb", task5)]
    assert (cell.light, cell.count, cell.red) == (Light.RED, 1, 1)
    assert ("fpb", f"{a['late30'].policy.key}#9") in found.heat
    assert {g.key for g in found.by_department} == {"czt", "fpb"}
    opts = options(session=session)
    assert sorted(code for code, _ in opts.departments) == ["czt", "fpb"]
    assert [n for n, _ in opts.items] == [5, 9]
    assert [n for n, _ in opts.sections] == [2, 3]
    # Narrowed to a policy, the task and section choices are that policy's alone.
    other = make_policy(session, items=[{"number": 7, "title": "另一文件的任务", "section": 4}])
    make_assignment(session, policy=other, department=a["late30"].department, item_number=7)
    assert [n for n, _ in options(session=session).items] == [5, 7, 9]
    mine = options(session=session, policy=a["late30"].policy.key)
    assert [n for n, _ in mine.items] == [5, 9] and [n for n, _ in mine.sections] == [2, 3]
    theirs = options(session=session, policy=other.key)
    assert [n for n, _ in theirs.items] == [7] and [n for n, _ in theirs.sections] == [4]


def test_removed_assignments_leave_the_board(session, world):
    _, a = world
    a["soon"].removed_in_version = 2
    session.flush()
    assert a["soon"].id not in ids(board(session=session, now=NOW, filters=BoardFilter()).rows)


def test_review_queue_only_current_pending_submissions(session, world):
    _, a = world
    old = Submission(
        key="s-old", assignment_id=a["sent"].id, period_index=0, report="旧", state="returned"
    )
    new = Submission(key="s-new", assignment_id=a["sent"].id, period_index=0, report="新")
    stray = Submission(key="s-stray", assignment_id=a["soon"].id, period_index=0, report="未在审")
    session.add_all([old, new, stray])
    session.flush()
    queue = review_queue(session=session)
    assert [(r.submission.key, r.title) for r in queue] == [("s-new", "做好易地扶贫搬迁后续帮扶")]
    assert pending_submission(session=session, submission_id=new.id) is new
    with pytest.raises(Conflict):
        pending_submission(session=session, submission_id=old.id)
    with pytest.raises(NotFound):
        pending_submission(session=session, submission_id=999_999)


def test_extension_queue_and_ownership(session, world):
    _, a = world
    x = Extension(
        key="x1",
        assignment_id=a["late2"].id,
        period_index=0,
        requested_due_at=NOW + timedelta(days=30),
        reason="汛期",
    )
    done = Extension(
        key="x2",
        assignment_id=a["late2"].id,
        period_index=0,
        requested_due_at=NOW,
        reason="旧",
        state="refused",
    )
    session.add_all([x, done])
    session.flush()
    assert [r.extension.key for r in extension_queue(session=session)] == ["x1"]
    assert extension_of(session=session, assignment_id=a["late2"].id, extension_id=x.id) is x
    with pytest.raises(NotFound):
        extension_of(session=session, assignment_id=a["late30"].id, extension_id=x.id)


def test_escalation_inbox_by_level(session, world):
    _, a = world
    session.add_all(
        [
            Escalation(
                assignment_id=a["late30"].id,
                period_index=0,
                level=1,
                reached_at=NOW - timedelta(days=29),
            ),
            Escalation(
                assignment_id=a["late30"].id,
                period_index=0,
                level=2,
                reached_at=NOW - timedelta(days=23),
            ),
            Escalation(
                assignment_id=a["late2"].id,
                period_index=0,
                level=1,
                reached_at=NOW - timedelta(days=1),
            ),
            Escalation(
                assignment_id=a["sent"].id, period_index=0, level=3, reached_at=NOW, resolved_at=NOW
            ),
        ]
    )
    session.flush()
    rows = escalation_inbox(session=session)
    # One row per assignment, at its level (not one per rung it passed).
    assert [(r.assignment.id, r.escalation.level) for r in rows] == [
        (a["late30"].id, 2),
        (a["late2"].id, 1),
    ]
    assert escalation_counts(session=session) == {1: 1, 2: 1, 3: 0}
    assert [r.assignment.id for r in escalation_inbox(session=session, level=1)] == [a["late2"].id]
    assert escalation_counts(session=session, assignment_ids=[a["late30"].id]) == {1: 0, 2: 1, 3: 0}
    assert [
        r.assignment.id for r in escalation_inbox(session=session, level=3, open_only=False)
    ] == [a["sent"].id]
    assert session.query(AssignmentPeriod).count() == 8  # factories made two periods each


@pytest.mark.parametrize("view", ["department", "task", "heat"])
def test_grouped_views_page_through_their_groups(session, world, view):
    # Windows of one group at a time give each group once, in the whole view's order, with the
    # same counts and first rows; the heat map pages its task columns and keeps every row.
    whole = board(session=session, now=NOW, filters=BoardFilter(), groups=GroupWindow(view))
    paged = whole.by_department if view == "department" else whole.by_task
    assert whole.groups_total == len(paged) >= 2
    seen = []
    for offset in range(whole.groups_total + 1):
        window = GroupWindow(view, offset, 1)
        part = board(session=session, now=NOW, filters=BoardFilter(), groups=window)
        groups = part.by_department if view == "department" else part.by_task
        assert part.groups_total == whole.groups_total
        assert len(groups) == (1 if offset < whole.groups_total else 0)
        seen += groups
        if view == "heat":
            assert part.by_department == whole.by_department
            keys = {g.key for g in groups}
            assert part.heat == {k: c for k, c in whole.heat.items() if k[1] in keys}
    assert [(g.key, g.counts, [r.assignment.id for r in g.rows]) for g in seen] == [
        (g.key, g.counts, [r.assignment.id for r in g.rows]) for g in paged
    ]
