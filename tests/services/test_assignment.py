"""Status lights (pure), the inbox query and the assignment detail on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from duban.errors import Forbidden, NotFound
from duban.services.assignment import (
    Light,
    assignment_detail,
    inbox_scope,
    owned_assignment,
    status_light,
    visible_assignment,
)
from duban.services.inbox import InboxFilter, inbox
from tests.workspace import add_event, make_assignment, make_department, make_policy, make_user

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset", "state", "color"),
    [
        (timedelta(days=30), "assigned", Light.GREEN),
        (timedelta(days=7), "acknowledged", Light.AMBER),
        (timedelta(hours=1), "in_progress", Light.AMBER),
        (timedelta(seconds=0), "assigned", Light.RED),
        (timedelta(days=-3), "returned", Light.RED),
        (timedelta(days=-3), "submitted", Light.GREEN),
        (timedelta(days=-3), "completed", Light.GREEN),
        (timedelta(days=2), "approved", Light.GREEN),
    ],
)
def test_status_light_by_due_date_and_state(offset, state, color):
    light = status_light(due_at=NOW + offset, now=NOW, state=state)
    assert light.color is color
    assert light.reason


def test_status_light_reason_counts_days():
    assert (
        status_light(due_at=NOW - timedelta(days=3, hours=2), now=NOW, state="assigned").reason
        == "已逾期 3 天"
    )
    assert (
        status_light(due_at=NOW + timedelta(days=5, hours=1), now=NOW, state="assigned").reason
        == "5 天内到期"
    )
    assert status_light(due_at=None, now=NOW, state="assigned").color is Light.GREEN


@pytest.fixture
def world(session):
    policy = make_policy(
        session,
        items=[
            {"number": 5, "title": "保持主要帮扶政策总体稳定"},
            {"number": 6, "title": "健全防止返贫动态监测和帮扶机制"},
            {"number": 7, "title": "巩固“两不愁三保障”成果", "body": "落实义务教育控辍保学100%"},
        ],
    )
    own, other = (
        make_department(session, "fpb", "省扶贫办"),
        make_department(session, "czt", "省财政厅"),
    )
    rows = {
        "green": make_assignment(
            session, policy=policy, department=own, item_number=5, due_at=NOW + timedelta(days=40)
        ),
        "red": make_assignment(
            session,
            policy=policy,
            department=own,
            item_number=6,
            role="co",
            due_at=NOW - timedelta(days=2),
            escalation_level=1,
        ),
        "amber": make_assignment(
            session, policy=policy, department=own, item_number=7, due_at=NOW + timedelta(days=3)
        ),
        "foreign": make_assignment(
            session,
            policy=policy,
            department=other,
            item_number=5,
            role="co",
            due_at=NOW - timedelta(days=9),
        ),
    }
    return {"policy": policy, "own": own, "other": other, **rows}


def test_inbox_sorts_by_urgency_and_counts_lights(session, world):
    box = inbox(session=session, department_id=world["own"].id, now=NOW, filters=InboxFilter())
    assert [r.assignment.id for r in box.rows] == [
        world["red"].id,
        world["amber"].id,
        world["green"].id,
    ]
    assert box.counts == {Light.RED: 1, Light.AMBER: 1, Light.GREEN: 1}
    assert box.total == 3
    assert box.rows[0].title == "健全防止返贫动态监测和帮扶机制"


def test_inbox_leaves_out_what_a_newer_version_no_longer_names(session, world):
    world["amber"].removed_in_version = 2
    session.flush()
    box = inbox(session=session, department_id=world["own"].id, now=NOW, filters=InboxFilter())
    assert [r.assignment.id for r in box.rows] == [world["red"].id, world["green"].id]
    assert box.total == 2


def test_inbox_for_everyone_includes_other_departments(session, world):
    box = inbox(session=session, department_id=None, now=NOW, filters=InboxFilter())
    assert box.rows[0].assignment.id == world["foreign"].id
    assert box.total == 4


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (InboxFilter(light=Light.AMBER), ["amber"]),
        (InboxFilter(role="co"), ["red"]),
        (InboxFilter(state="assigned", light=Light.GREEN), ["green"]),
        (InboxFilter(q="动态监测"), ["red"]),
        (InboxFilter(q="控辍保学"), ["amber"]),
        (InboxFilter(q="7"), ["amber"]),
        (InboxFilter(q="100%"), ["amber"]),
        (InboxFilter(q="_"), []),
        (InboxFilter(q="省扶贫办"), ["red", "amber", "green"]),
    ],
)
def test_inbox_filters_and_search(session, world, filters, expected):
    box = inbox(session=session, department_id=world["own"].id, now=NOW, filters=filters)
    assert [r.assignment.id for r in box.rows] == [world[k].id for k in expected]
    assert box.total == 3


def test_detail_has_item_partners_periods_and_timeline(session, world):
    add_event(session, world["green"], "acknowledged", NOW + timedelta(minutes=5))
    add_event(session, world["green"], "assigned", NOW)
    add_event(session, world["foreign"], "urged", NOW)
    detail = assignment_detail(session=session, assignment=world["green"], now=NOW)
    assert detail.item is not None and detail.item.section_title
    assert [p.department.name for p in detail.partners] == ["省财政厅"]
    assert [p.index for p in detail.periods] == [0, 1]
    assert [e.kind for e in detail.timeline] == ["assigned", "acknowledged"]
    assert detail.light.color is Light.GREEN


def test_access_rules(session, world):
    staff = make_user(session, "staff", world["own"])
    outsider = make_user(session, "head", world["other"])
    supervisor = make_user(session, "supervisor")
    aid = world["green"].id
    assert visible_assignment(session=session, assignment_id=aid, user=staff).id == aid
    assert owned_assignment(session=session, assignment_id=aid, user=staff).id == aid
    assert visible_assignment(session=session, assignment_id=aid, user=supervisor).id == aid
    with pytest.raises(NotFound):
        visible_assignment(session=session, assignment_id=aid, user=outsider)
    with pytest.raises(NotFound):
        visible_assignment(session=session, assignment_id=10**9, user=staff)
    with pytest.raises(Forbidden):
        owned_assignment(session=session, assignment_id=aid, user=supervisor)
    assert inbox_scope(staff) == world["own"].id
    assert inbox_scope(supervisor) is None
    with pytest.raises(Forbidden):
        inbox_scope(make_user(session, "staff"))
