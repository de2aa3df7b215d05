"""The cascade (层层分解) on SQLite and PostgreSQL: tree, fan-out, sub-assignments, roll-up, access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from duban.errors import Conflict, Forbidden, Invalid, NotFound
from duban.messages import NotifyInput
from duban.models import Assignment, AuditEvent, Department, Notification
from duban.services.assignment import owned_assignment, visible_assignment
from duban.services.cascade import (
    SubSpec,
    check_can_submit,
    children_of,
    create_sub_assignment,
    mark_child_started,
    rollup,
    split_targets,
    waive_children,
)
from duban.services.notification import add_notifications
from duban.services.orgtree import fan_out_preview, set_placement, sync_tree, tree_rows
from policies.orgtree import load_tree
from tests.services.cascade_seed import (
    PARENT_DUE,
    assignment_of,
    publish_plan,
    user_of,
)

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
CITIES = {"jl-cc", "jl-jlc", "jl-sp", "jl-ly", "jl-th", "jl-bs", "jl-sy", "jl-bc", "jl-yb"}


def _dept(session, code):
    return session.scalars(select(Department).where(Department.code == code)).one()


def _parent(session):
    policy_id = publish_plan(session)
    parent = assignment_of(session, policy_id, 2, "jl-rst")
    parent.due_at = PARENT_DUE  # what the workflow's first period writes
    session.flush()
    return parent


def test_the_registry_seeds_the_tree_and_an_admin_placement_wins(session):
    publish_plan(session)
    cc, gov, fpb = _dept(session, "jl-cc"), _dept(session, "jl-gov"), _dept(session, "jl-fpb")
    assert (cc.kind, cc.level, cc.parent_id) == ("government", "city", gov.id)
    assert fpb.parent_id == gov.id and fpb.kind == "department"
    assert _dept(session, "jl-cc-ys").parent_id == cc.id
    set_placement(
        session=session, code="jl-fpb", parent_code=None, kind="department", level="", actor=None
    )
    assert (
        sync_tree(session=session, nodes=load_tree()) == 1
    )  # placed again only as it has no parent
    set_placement(
        session=session, code="jl-fpb", parent_code="jl-cc", kind="department", level="", actor=None
    )
    assert sync_tree(session=session, nodes=load_tree()) == 0
    assert _dept(session, "jl-fpb").parent_id == cc.id
    depths = {r.department.code: r.depth for r in tree_rows(session=session)}
    assert (depths["jl-gov"], depths["jl-cc"], depths["jl-cc-ys"]) == (0, 1, 2)


def test_a_cycle_is_refused_and_nothing_moves(session):
    publish_plan(session)
    with pytest.raises(Invalid, match="循环") as refused:
        set_placement(
            session=session,
            code="jl-gov",
            parent_code="jl-cc-ys",
            kind="government",
            level="province",
            actor=None,
        )
    assert refused.value.code == "tree_cycle"
    with pytest.raises(Invalid, match="循环"):
        set_placement(
            session=session,
            code="jl-cc",
            parent_code="jl-cc",
            kind="government",
            level="city",
            actor=None,
        )
    assert _dept(session, "jl-gov").parent_id is None
    assert _dept(session, "jl-cc").parent_id == _dept(session, "jl-gov").id
    with pytest.raises(Invalid, match="层级"):
        set_placement(
            session=session,
            code="jl-cc",
            parent_code="jl-gov",
            kind="government",
            level="galaxy",
            actor=None,
        )
    with pytest.raises(Invalid, match="只有人民政府"):
        set_placement(
            session=session,
            code="jl-fpb",
            parent_code="jl-gov",
            kind="department",
            level="city",
            actor=None,
        )
    with pytest.raises(NotFound):
        set_placement(
            session=session,
            code="jl-fpb",
            parent_code="nowhere",
            kind="department",
            level="",
            actor=None,
        )


def test_a_collective_unit_fans_out_to_each_city_government(session):
    policy_id = publish_plan(session)
    rows = session.scalars(
        select(Assignment).where(Assignment.policy_id == policy_id, Assignment.item_number == 1)
    ).unique()
    codes = {a.department.code: a for a in rows}
    assert set(codes) == {"jl-fpb"} | CITIES
    assert codes["jl-cc"].role == "co" and codes["jl-cc"].as_written == "各市（州）人民政府"
    preview = fan_out_preview(
        session=session,
        data={"items": [{"units": [{"name": "各县（市、区）人民政府", "collective": True}]}]},
    )
    assert list(preview) == ["各县（市、区）人民政府"]
    assert sorted(preview["各县（市、区）人民政府"]) == sorted(
        ["抚松县人民政府", "靖宇县人民政府", "榆树市人民政府", "农安县人民政府"]
    )


def test_split_into_two_cities_with_shares_and_roll_up(session):
    parent = _parent(session)
    staff = user_of(session, "rst", "staff", "jl-rst")
    targets = {d.code for d in split_targets(session=session, assignment=parent)}
    assert targets >= CITIES and "jl-fpb" not in targets
    for code, share in (("jl-cc", 60), ("jl-jlc", 40)):
        create_sub_assignment(
            session=session,
            parent=parent,
            spec=SubSpec(code, PARENT_DUE - timedelta(days=30), share),
            user=staff,
            now=NOW,
        )
    kids = children_of(session=session, assignment_id=parent.id)
    assert [(k.department.code, k.target_share, k.parent_id) for k in kids] == [
        ("jl-cc", 60, parent.id),
        ("jl-jlc", 40, parent.id),
    ]
    assert (
        kids[0].workflow_id == f"assignment:{parent.policy.key}:2:jl-cc" and kids[0].pending_start
    )
    events = session.scalars(
        select(AuditEvent.kind).where(AuditEvent.assignment_id == parent.id)
    ).all()
    assert events.count("sub_assigned") == 2
    roll = rollup(session=session, assignment=parent)
    assert roll.shares == 100 and roll.open_names == ["长春市人民政府", "吉林市人民政府"]
    assert "下级分解任务尚未完成" in roll.blocked_reason
    with pytest.raises(Conflict, match="长春市人民政府"):
        check_can_submit(session=session, assignment=parent)
    kids[0].state = kids[1].state = "submitted"
    session.flush()
    assert rollup(session=session, assignment=parent).refusal is None
    check_can_submit(session=session, assignment=parent)


def test_bad_splits_are_refused_and_write_nothing(session):
    parent = _parent(session)
    staff = user_of(session, "rst", "staff", "jl-rst")
    other = user_of(session, "fpb", "staff", "jl-fpb")
    later = PARENT_DUE + timedelta(days=1)

    def split(code, due, share, user=staff):
        create_sub_assignment(
            session=session, parent=parent, spec=SubSpec(code, due, share), user=user, now=NOW
        )

    with pytest.raises(Invalid, match="不能晚于上级任务") as late:
        split("jl-cc", later, 10)
    assert late.value.code == "child_due_after_parent"
    with pytest.raises(Invalid, match="晚于当前时间"):
        split("jl-cc", NOW - timedelta(days=1), 10)
    with pytest.raises(Invalid, match="0% 至 100%"):
        split("jl-cc", PARENT_DUE, 101)
    split("jl-cc", PARENT_DUE, 70)
    mark_child_started(
        session=session, child_id=children_of(session=session, assignment_id=parent.id)[0].id
    )
    with pytest.raises(Invalid, match="合计不能超过 100%") as over:
        split("jl-jlc", PARENT_DUE, 31)
    assert over.value.code == "shares_over_100"
    with pytest.raises(Conflict, match="不能重复分解"):
        split("jl-cc", PARENT_DUE, 0)
    with pytest.raises(Invalid, match="不是本单位的内设机构或下级单位"):
        split("jl-fpb", PARENT_DUE, 0)
    with pytest.raises(Invalid, match="单位不存在"):
        split("jl-nowhere", PARENT_DUE, 0)
    with pytest.raises(Forbidden):
        split("jl-jlc", PARENT_DUE, 10, user=other)
    assert [k.department.code for k in children_of(session=session, assignment_id=parent.id)] == [
        "jl-cc"
    ]
    assert (
        session.scalar(
            select(func.count()).select_from(Assignment).where(Assignment.parent_id.is_not(None))
        )
        == 1
    )


def test_a_split_whose_workflow_never_started_is_finished_by_the_retry(session):
    """Temporal went away after the row was stored: the retry resumes it, once, not a 409."""
    parent = _parent(session)
    staff = user_of(session, "rst", "staff", "jl-rst")

    def split(due, share):
        return create_sub_assignment(
            session=session, parent=parent, spec=SubSpec("jl-cc", due, share), user=staff, now=NOW
        )

    first = split(PARENT_DUE - timedelta(days=30), 100)
    again = split(PARENT_DUE - timedelta(days=20), 100)  # its own 100 % is not counted twice
    assert again.id == first.id and again.due_at == PARENT_DUE - timedelta(days=20)
    assert len(children_of(session=session, assignment_id=parent.id)) == 1
    kinds = session.scalars(
        select(AuditEvent.kind).where(AuditEvent.assignment_id == parent.id)
    ).all()
    assert kinds.count("sub_assigned") == 1
    mark_child_started(session=session, child_id=first.id)
    with pytest.raises(Conflict, match="不能重复分解"):
        split(PARENT_DUE, 0)


def test_the_parent_department_sees_its_children_but_cannot_act_for_them(session):
    parent = _parent(session)
    staff = user_of(session, "rst", "staff", "jl-rst")
    city = user_of(session, "cc", "staff", "jl-cc")
    stranger = user_of(session, "fpb", "staff", "jl-fpb")
    child = create_sub_assignment(
        session=session, parent=parent, spec=SubSpec("jl-cc", PARENT_DUE, 50), user=staff, now=NOW
    )
    assert visible_assignment(session=session, assignment_id=child.id, user=staff).id == child.id
    assert owned_assignment(session=session, assignment_id=child.id, user=city).id == child.id
    with pytest.raises(Forbidden, match="不能代下级单位办理"):
        owned_assignment(session=session, assignment_id=child.id, user=staff)
    for who, target in ((stranger, child.id), (stranger, parent.id), (city, parent.id)):
        with pytest.raises(NotFound):
            visible_assignment(session=session, assignment_id=target, user=who)


def test_a_supervisor_waives_open_children_on_the_audit_trail(session):
    parent = _parent(session)
    staff = user_of(session, "rst", "staff", "jl-rst")
    boss = user_of(session, "sup", "supervisor")
    with pytest.raises(Conflict, match="没有分解任务"):
        waive_children(session=session, assignment=parent, user=boss, reason="会议决定")
    create_sub_assignment(
        session=session, parent=parent, spec=SubSpec("jl-cc", PARENT_DUE, 50), user=staff, now=NOW
    )
    with pytest.raises(Forbidden):
        waive_children(session=session, assignment=parent, user=staff, reason="自己豁免")
    with pytest.raises(Invalid, match="豁免理由"):
        waive_children(session=session, assignment=parent, user=boss, reason="  ")
    waive_children(session=session, assignment=parent, user=boss, reason="会议决定")
    assert rollup(session=session, assignment=parent).refusal is None
    event = session.scalars(select(AuditEvent).where(AuditEvent.kind == "cascade_waived")).one()
    assert (event.assignment_id, event.data["reason"], event.actor_id) == (
        parent.id,
        "会议决定",
        boss.id,
    )
    with pytest.raises(Conflict, match="已豁免"):
        waive_children(session=session, assignment=parent, user=boss, reason="再来")


def test_the_first_rung_of_a_child_reaches_the_parent_department(session):
    parent = _parent(session)
    staff = user_of(session, "rst", "staff", "jl-rst")
    city_head = user_of(session, "cch", "head", "jl-cc")
    child = create_sub_assignment(
        session=session, parent=parent, spec=SubSpec("jl-cc", PARENT_DUE, 50), user=staff, now=NOW
    )
    l1 = NotifyInput(
        key="l1", assignment_id=child.id, kind="escalation_l1", audience="head", title="逾期"
    )
    told = {n.user_id for n in add_notifications(session, l1)}
    assert told == {staff.id, city_head.id}
    l2 = NotifyInput(
        key="l2", assignment_id=child.id, kind="escalation_l2", audience="supervisors", title="逾期"
    )
    assert add_notifications(session, l2) == []  # no supervisor account in this test
    on_parent = NotifyInput(
        key="p1", assignment_id=parent.id, kind="escalation_l1", audience="head", title="逾期"
    )
    assert (
        add_notifications(session, on_parent) == []
    )  # the parent's own first rung: its heads (none)
    assert session.scalar(select(func.count()).select_from(Notification)) == 2
