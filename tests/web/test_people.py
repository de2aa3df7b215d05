"""Named people over HTTP, pages and /api/v1, on SQLite and PostgreSQL: the conversation with
@mentions and attachments, the head's assignee, the leader's red list and 批示."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from duban.db import utcnow
from duban.domain import UserRole
from duban.models import Assignment, AuditEvent, Notification
from tests.db import BACKENDS
from tests.web.browser import add_user, api_token
from tests.workspace import make_assignment, make_department, make_policy

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """These run on both databases."""
    return str(request.param)


@pytest.fixture
def world(db):
    """Our department with a red and a green assignment, another department with one."""
    now = utcnow()
    with db.begin() as s:
        policy = make_policy(
            s, items=[{"number": 5, "title": "任务五"}, {"number": 6, "title": "任务六"}]
        )
        own, other = make_department(s, "fpb", "省扶贫办"), make_department(s, "czt", "省财政厅")
        red = make_assignment(s, policy=policy, department=own, due_at=now - timedelta(days=2))
        green = make_assignment(s, policy=policy, department=own, item_number=6)
        theirs = make_assignment(s, policy=policy, department=other, due_at=now - timedelta(days=2))
        return {"red": red.id, "green": green.id, "theirs": theirs.id}


async def headers_of(client, db, role, department=None, username=None):
    user_id, name = add_user(db, role, department, username=username)
    return user_id, await api_token(client, name)


def kinds(db, aid):
    with db() as s:
        return [
            e.kind for e in s.scalars(select(AuditEvent).where(AuditEvent.assignment_id == aid))
        ]


async def test_conversation_api_mentions_attachments_and_isolation(client, db, world):
    aid = world["red"]
    _, staff = await headers_of(client, db, UserRole.STAFF, "fpb", username="fpb-wang")
    sup_id, sup = await headers_of(client, db, UserRole.SUPERVISOR, username="sup-li")
    up = await client.post(
        f"/api/v1/assignments/{aid}/attachments", files={"file": ("问题清单.pdf", PDF)}, headers=sup
    )
    assert up.status_code == 201, up.text
    asked = await client.post(
        f"/api/v1/assignments/{aid}/messages",
        json={"body": "@fpb-wang 请说明进度", "evidence_ids": [up.json()["id"]]},
        headers=sup,
    )
    assert asked.status_code == 201 and asked.json()["evidence_ids"] == [up.json()["id"]]
    answer = await client.post(
        f"/api/v1/assignments/{aid}/messages", json={"body": "已完成八成。@sup-li"}, headers=staff
    )
    assert answer.status_code == 201 and answer.json()["mentioned_ids"] == [sup_id]
    listed = (await client.get(f"/api/v1/assignments/{aid}/messages", headers=sup)).json()
    assert [m["body"] for m in listed] == ["@fpb-wang 请说明进度", "已完成八成。@sup-li"]
    with db() as s:
        assert (
            s.scalar(select(Notification.kind).where(Notification.user_id == sup_id)) == "mention"
        )
    assert kinds(db, aid).count("message") == 2
    detail = (await client.get(f"/api/v1/assignments/{aid}", headers=staff)).json()
    assert [e["kind"] for e in detail["timeline"]].count("message") == 2


async def test_conversation_api_refuses_bad_input_and_other_departments(client, db, world):
    aid, theirs = world["red"], world["theirs"]
    _, staff = await headers_of(client, db, UserRole.STAFF, "fpb")
    _, assessor = await headers_of(client, db, UserRole.ASSESSOR)
    path = f"/api/v1/assignments/{aid}/messages"
    for body in (
        {"body": ""},
        {"body": "x" * 2001},
        {"body": "hi", "extra": 1},
        {"body": "hi", "evidence_ids": [0]},
        {},
    ):
        assert (await client.post(path, json=body, headers=staff)).status_code == 422, body
    foreign = await client.post(path, json={"body": "hi", "evidence_ids": [99999]}, headers=staff)
    assert foreign.status_code == 422 and "证据文件" in foreign.json()["detail"]
    for verb, url in (
        ("get", f"/api/v1/assignments/{theirs}/messages"),
        ("post", f"/api/v1/assignments/{theirs}/messages"),
    ):
        response = await client.request(verb, url, json={"body": "hi"}, headers=staff)
        assert response.status_code == 404, url
    assert (await client.post(path, json={"body": "hi"}, headers=assessor)).status_code == 403
    up = await client.post(
        f"/api/v1/assignments/{theirs}/attachments", files={"file": ("a.pdf", PDF)}, headers=staff
    )
    assert up.status_code == 404
    assert kinds(db, aid).count("message") == 0


async def test_message_page_form_with_a_file(login_as, db, world):
    aid = world["red"]
    staff = await login_as(UserRole.STAFF, department="fpb")
    sent = await staff.client.post(
        f"/assignments/{aid}/messages",
        data={"csrf_token": staff.csrf, "body": "请督查室看附件"},
        files={"files": ("现场照片.pdf", PDF)},
    )
    assert sent.status_code == 303, sent.text
    page = (await staff.client.get(f"/assignments/{aid}")).text
    assert "请督查室看附件" in page and "现场照片.pdf" in page and "沟通留言" in page
    empty = await staff.client.post(
        f"/assignments/{aid}/messages", data={"csrf_token": staff.csrf, "body": " "}
    )
    assert empty.status_code == 422 and "请填写内容" in empty.text


async def test_head_hands_the_task_to_a_named_member(client, login_as, db, world):
    aid = world["green"]
    staff_id, staff = await headers_of(client, db, UserRole.STAFF, "fpb")
    _, other_staff = await headers_of(client, db, UserRole.STAFF, "czt")
    head = await login_as(UserRole.HEAD, department="fpb")
    head_api = await api_token(client, head.username)
    members = (await client.get(f"/api/v1/assignments/{aid}/members", headers=head_api)).json()
    assert staff_id in [m["id"] for m in members]
    path = f"/api/v1/assignments/{aid}/assignee"
    done = await client.put(path, json={"assignee_id": staff_id}, headers=head_api)
    assert done.status_code == 200 and done.json()["assignee"]["id"] == staff_id
    inbox = (await client.get("/api/v1/assignments", headers=staff)).json()
    assert inbox[0]["id"] == aid and inbox[0]["assignee_id"] == staff_id  # before the red one
    assert (
        await client.put(path, json={"assignee_id": staff_id}, headers=staff)
    ).status_code == 403
    assert (await client.put(path, json={"assignee_id": "x"}, headers=head_api)).status_code == 422
    assert (
        await client.put(path, json={"assignee_id": 99999}, headers=head_api)
    ).status_code == 422
    theirs = f"/api/v1/assignments/{world['theirs']}/assignee"
    assert (
        await client.put(theirs, json={"assignee_id": None}, headers=head_api)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/assignments/{aid}/members", headers=other_staff)
    ).status_code == 404
    back = await head.client.post(
        f"/assignments/{aid}/assignee", data={"csrf_token": head.csrf, "assignee_id": ""}
    )
    assert back.status_code == 303
    with db() as s:
        assert s.get_one(Assignment, aid).assignee_id is None
    assert kinds(db, aid).count("assignee_set") == 2
    page = (await head.client.get(f"/assignments/{aid}")).text
    assert "指定承办人" in page and "交办" in page


async def test_leader_red_list_and_instruction(client, login_as, db, world):
    aid = world["red"]
    leader = await login_as(UserRole.LEADER)
    leader_api = await api_token(client, leader.username)
    _, admin = await headers_of(client, db, UserRole.ADMIN)
    assert (await client.get("/api/v1/leader/red", headers=leader_api)).json() == []
    remit = await client.put(
        f"/api/v1/users/{leader.user_id}/departments", json={"departments": ["fpb"]}, headers=admin
    )
    assert remit.status_code == 200 and [d["code"] for d in remit.json()] == ["fpb"]
    bad = await client.put(
        f"/api/v1/users/{leader.user_id}/departments", json={"departments": ["zz"]}, headers=admin
    )
    assert bad.status_code == 422
    red = (await client.get("/api/v1/leader/red", headers=leader_api)).json()
    assert [r["assignment_id"] for r in red] == [aid]
    page = await leader.client.get("/leader")
    assert page.status_code == 200 and "已逾期 1 项" in page.text and "作出批示" in page.text
    wrote = await client.post(
        f"/api/v1/assignments/{aid}/instructions", json={"body": "限期办结。"}, headers=leader_api
    )
    assert wrote.status_code == 201 and wrote.json()["kind"] == "instruction"
    form = await leader.client.post(
        f"/assignments/{aid}/instructions", data={"csrf_token": leader.csrf, "body": "再次督促。"}
    )
    assert form.status_code == 303
    assert kinds(db, aid).count("instruction") == 2
    theirs = f"/api/v1/assignments/{world['theirs']}/instructions"
    assert (await client.post(theirs, json={"body": "x"}, headers=leader_api)).status_code == 404
    _, sup = await headers_of(client, db, UserRole.SUPERVISOR)
    assert (
        await client.post(
            f"/api/v1/assignments/{aid}/instructions", json={"body": "x"}, headers=sup
        )
    ).status_code == 403
    assert (await client.get("/api/v1/leader/red", headers=sup)).status_code == 403
    # A leader's list is the red one of their remit, not every department's inbox.
    assert (await client.get("/api/v1/assignments", headers=leader_api)).status_code == 403
    assert (
        await client.get(f"/api/v1/assignments/{world['theirs']}", headers=leader_api)
    ).status_code == 404
    assert (await client.get(f"/api/v1/assignments/{aid}", headers=leader_api)).status_code == 200
    assert (
        await client.post(
            f"/api/v1/assignments/{aid}/instructions", json={"body": ""}, headers=leader_api
        )
    ).status_code == 422


async def test_admin_sets_a_leaders_remit_on_the_user_page(login_as, db, world):
    admin = await login_as(UserRole.ADMIN)
    leader_id, _ = add_user(db, UserRole.LEADER)
    page = await admin.client.get(f"/admin/users/{leader_id}")
    assert page.status_code == 200 and "分管单位" in page.text
    saved = await admin.client.post(
        f"/admin/users/{leader_id}/departments",
        data={"csrf_token": admin.csrf, "departments": ["fpb", "czt"]},
    )
    assert saved.status_code == 303
    page = (await admin.client.get(f"/admin/users/{leader_id}")).text
    assert 'value="fpb" checked' in page and 'value="czt" checked' in page
    bad = await admin.client.post(
        f"/admin/users/{leader_id}/departments",
        data={"csrf_token": admin.csrf, "departments": ["nope"]},
    )
    assert bad.status_code == 422 and "单位不存在" in bad.text
    staff_id, _ = add_user(db, UserRole.STAFF, "fpb")
    assert "分管单位" not in (await admin.client.get(f"/admin/users/{staff_id}")).text
