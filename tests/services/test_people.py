"""Named people over the read model, on SQLite and PostgreSQL: conversation, 催办 cooldown,
the assignee, leaders' remit and the level-3 notice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from duban.db import utcnow
from duban.errors import Conflict, Forbidden, Invalid, NotFound
from duban.messages import NotifyInput
from duban.models import AuditEvent, Evidence, Notification
from duban.rules import URGE_COOLDOWN
from duban.script import to_script
from duban.services import notification
from duban.services.assignee import assign_member
from duban.services.assignment import visible_assignment
from duban.services.conversation import claim_urge, last_urges, messages_of, post_message
from duban.services.inbox import InboxFilter, inbox
from duban.services.leader import red_in_remit, set_remit
from duban.services.notification import add_notifications
from tests.workspace import make_assignment, make_department, make_policy, make_user


@pytest.fixture
def world(session):
    policy = make_policy(
        session, items=[{"number": 5, "title": "任务五"}, {"number": 6, "title": "任务六"}]
    )
    fpb, czt = (
        make_department(session, "fpb", "省扶贫办"),
        make_department(session, "czt", "省财政厅"),
    )
    late = utcnow() - timedelta(days=3)
    return {
        "a": make_assignment(session, policy=policy, department=fpb, due_at=late),
        "b": make_assignment(session, policy=policy, department=fpb, item_number=6),
        "other": make_assignment(session, policy=policy, department=czt, due_at=late),
        "head": make_user(session, "head", fpb, username="fpb-head"),
        "staff": make_user(session, "staff", fpb, username="fpb-wang", display_name="王承办"),
        "staff2": make_user(session, "staff", fpb, username="fpb-li"),
        "outsider": make_user(session, "staff", czt, username="czt-staff"),
        "sup": make_user(session, "supervisor", username="sup"),
        "leader": make_user(session, "leader", username="leader-zhang"),
        "assessor": make_user(session, "assessor", username="assessor"),
        "czt": czt,
    }


def notes(session, user, kind=None):
    stmt = select(Notification).where(Notification.user_id == user.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    return list(session.scalars(stmt))


def test_message_with_mention_and_attachment_is_audited_and_notified(session, world):
    a, staff = world["a"], world["staff"]
    ev = Evidence(
        assignment_id=a.id,
        sha256="0" * 64,
        size=3,
        filename="a.pdf",
        content_type="application/pdf",
    )
    session.add(ev)
    session.flush()
    msg = post_message(
        session=session,
        assignment=a,
        author=world["sup"],
        body="请 @fpb-wang 补充说明 @nobody",
        evidence_ids=[ev.id],
    )
    assert msg.mentioned_ids == [staff.id] and msg.evidence_ids == [ev.id]
    event = session.scalar(select(AuditEvent).where(AuditEvent.kind == "message"))
    assert event.assignment_id == a.id and event.data["mentioned"] == ["fpb-wang"]
    assert [n.kind for n in notes(session, staff)] == ["mention"]
    assert [n.kind for n in notes(session, world["head"])] == ["message"]
    reply = post_message(session=session, assignment=a, author=staff, body="已补充。")
    [told] = notification.list_for_user(session=session, user_id=world["sup"].id)
    assert told.title.startswith(f"任务（5）任务五（{a.department.name}）有新留言")
    assert told.title.endswith("（王承办）") and told.body == "已补充。"
    assert notes(session, world["sup"])[0].code == "conversation_message"
    assert [m.id for m in messages_of(session=session, assignment_id=a.id)] == [msg.id, reply.id]


def test_conversation_refuses_outsiders_bad_text_and_foreign_evidence(session, world):
    with pytest.raises(Forbidden):
        post_message(session=session, assignment=world["a"], author=world["outsider"], body="hi")
    with pytest.raises(Forbidden):
        post_message(session=session, assignment=world["a"], author=world["assessor"], body="hi")
    for body in ("  ", "长" * 2001):
        with pytest.raises(Invalid):
            post_message(session=session, assignment=world["a"], author=world["sup"], body=body)
    other_ev = Evidence(
        assignment_id=world["other"].id, sha256="1" * 64, size=1, filename="x", content_type="x"
    )
    session.add(other_ev)
    session.flush()
    with pytest.raises(Invalid):
        post_message(
            session=session,
            assignment=world["a"],
            author=world["sup"],
            body="看",
            evidence_ids=[other_ev.id],
        )
    assert messages_of(session=session, assignment_id=world["a"].id) == []


def test_urge_cooldown_refuses_a_second_urge_and_the_board_sees_the_last(session, world):
    a, sup, now = world["a"], world["sup"], utcnow()
    first = claim_urge(session=session, assignment=a, author=sup, message="请尽快", now=now)
    with pytest.raises(Conflict) as refused:
        claim_urge(
            session=session,
            assignment=a,
            author=sup,
            message="再催",
            now=now + timedelta(minutes=5),
        )
    assert "分钟内不能重复催办" in refused.value.message and refused.value.code == "urge_cooldown"
    later = claim_urge(
        session=session, assignment=a, author=sup, message="第二次", now=now + URGE_COOLDOWN
    )
    urges = last_urges(session=session, assignment_ids=[a.id, world["b"].id])
    assert urges == {a.id: later} and first.id < later.id


def test_head_hands_to_a_member_who_sees_it_first(session, world):
    a, b, head, staff = world["a"], world["b"], world["head"], world["staff"]
    assign_member(session=session, assignment=b, head=head, assignee_id=staff.id)
    assert b.assignee_id == staff.id
    assert [n.kind for n in notes(session, staff)] == ["assigned_to_you"]
    [told] = notification.list_for_user(session=session, user_id=staff.id, locale="zh-TW")
    who = head.display_name or head.username
    assert told.title == to_script(f"{who} 将任务（6）任务六交由您承办", "zh-TW")
    event = session.scalar(select(AuditEvent).where(AuditEvent.kind == "assignee_set"))
    assert event.assignment_id == b.id and event.data["assignee"] == "王承办"
    box = inbox(
        session=session,
        department_id=a.department_id,
        now=utcnow(),
        filters=InboxFilter(),
        me=staff.id,
    )
    assert box.rows[0].assignment.id == b.id  # red `a` would come first for anyone else
    other = inbox(
        session=session,
        department_id=a.department_id,
        now=utcnow(),
        filters=InboxFilter(),
        me=head.id,
    )
    assert other.rows[0].assignment.id == a.id
    # Only messages for the unit reach the assignee and heads, not every member.
    post_message(session=session, assignment=b, author=world["sup"], body="进展如何？")
    assert notes(session, world["staff2"], "message") == []
    assert len(notes(session, staff, "message")) == 1


def test_only_the_head_assigns_and_only_to_own_members(session, world):
    with pytest.raises(Forbidden):
        assign_member(
            session=session,
            assignment=world["a"],
            head=world["staff"],
            assignee_id=world["staff2"].id,
        )
    with pytest.raises(Invalid):
        assign_member(
            session=session,
            assignment=world["a"],
            head=world["head"],
            assignee_id=world["outsider"].id,
        )
    with pytest.raises(Invalid):
        assign_member(
            session=session, assignment=world["a"], head=world["head"], assignee_id=world["sup"].id
        )
    assert world["a"].assignee_id is None


def test_leader_sees_red_in_remit_writes_instruction_and_gets_level3(session, world):
    leader, a, other = world["leader"], world["a"], world["other"]
    with pytest.raises(NotFound):
        visible_assignment(session=session, assignment_id=a.id, user=leader)
    set_remit(session=session, leader=leader, codes=["fpb"], actor=None)
    assert [r.assignment.id for r in red_in_remit(session=session, user=leader, now=utcnow())] == [
        a.id
    ]
    with pytest.raises(NotFound):
        visible_assignment(session=session, assignment_id=other.id, user=leader)
    post_message(
        session=session, assignment=a, author=leader, body="请抓紧办理。", kind="instruction"
    )
    event = session.scalar(select(AuditEvent).where(AuditEvent.kind == "instruction"))
    assert event.assignment_id == a.id and event.data["message"] == "请抓紧办理。"
    assert notes(session, world["sup"], "instruction") and notes(
        session, world["head"], "instruction"
    )
    for level in (2, 3):
        inp = NotifyInput(
            f"k{level}", a.id, f"escalation_l{level}", "supervisors", "第5项任务已逾期"
        )
        add_notifications(session, inp)
    assert [n.kind for n in notes(session, leader)] == ["escalation_l3"]
    with pytest.raises(Invalid):
        set_remit(session=session, leader=leader, codes=["nope"], actor=None)
    with pytest.raises(Invalid):
        set_remit(session=session, leader=world["sup"], codes=["fpb"], actor=None)
