"""Ad-hoc tasks (交办件) through the publish path and real workflows, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from duban.domain import UserRole
from duban.models import Assignment, AuditEvent, Notification, Policy, User
from tests.db import BACKENDS
from tests.web.browser import add_department, add_user, api_token, new_client, sign_in
from tests.web.workspace_temporal import eventually, live_app, workspace_temporal
from web.i18n import SHANGHAI

__all__ = ["live_app", "workspace_temporal"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This runs on both databases."""
    return str(request.param)


@pytest.fixture
def app(live_app):
    """The app wired to the dev server and a worker."""
    return live_app


def ahead(days: int) -> str:
    return (datetime.now(SHANGHAI).date() + timedelta(days=days)).isoformat()


async def _told_in_the_readers_script(app, db, user_id, username, policy_id) -> None:
    """The 交办件's notice is stored as a code and parameters and rendered for its reader."""
    with db() as s:
        notes = s.scalars(select(Notification).where(Notification.user_id == user_id)).all()
        assert all(n.title == "" and n.code for n in notes)  # the workflow's own ones too
        [note] = [n for n in notes if n.key.startswith("assigned:")]
        assert (note.kind, note.code, note.body) == ("assigned", "new_assignment", "")
        assert note.params == {"item": 1, "role": "lead", "policy": policy_id}
    reader = new_client(app)
    try:
        assert (await sign_in(reader, username)).status_code == 303
        page = await reader.get("/notifications")
        assert "新交辦任務（牽頭）：任務（一）落實省長批示" in page.text, page.text
        assert "交辦件：落實省長批示：春耕生產資金撥付" in page.text
        assert "新交办任务" not in page.text and "交办件：" not in page.text
        api = (await reader.get("/api/v1/notifications")).json()
        [shown] = [n for n in api if n["body"].startswith("交办件")]
        assert shown["title"].startswith("新交办任务（牵头）：任务（一）落实省长批示")
        assert shown["body"] == "交办件：落实省长批示：春耕生产资金拨付"
    finally:
        await reader.aclose()


async def test_supervisor_creates_an_adhoc_task_that_runs_on_the_workflows(
    app, db, client, login_as
):
    add_department(db, "fpb", "省交办测试一厅")  # not in the registry: codes stay
    add_department(db, "czt", "省交办测试二厅")
    sup = await api_token(client, add_user(db, UserRole.SUPERVISOR)[1])
    reader_id, reader = add_user(db, UserRole.STAFF, "fpb")  # told at publish, reads 繁體
    with db.begin() as s:
        s.get_one(User, reader_id).locale = "zh-TW"
    body = {
        "title": "落实省长批示：春耕生产资金拨付",
        "body": "4月底前完成资金拨付并报送进展。",
        "origin": "instruction",
        "units": ["fpb", "czt"],
        "deadline": ahead(60),
        "cadence": "monthly",
    }
    made = await client.post("/api/v1/adhoc-tasks", json=body, headers=sup)
    assert made.status_code == 201, made.text
    ids = made.json()["assignment_ids"]
    assert len(ids) == 2 and made.json()["started"] == 1

    async def opened() -> bool:
        with db() as s:
            stmt = select(func.count()).where(
                AuditEvent.kind == "period_opened", AuditEvent.assignment_id.in_(ids)
            )
            return bool(s.scalar(stmt) == 2)

    await eventually(opened)
    with db() as s:
        rows = {
            a.department.code: a
            for a in s.scalars(select(Assignment).where(Assignment.id.in_(ids)))
        }
        assert rows["fpb"].role == "lead" and rows["czt"].role == "co"
        policy = s.get_one(Policy, made.json()["policy_id"])
        assert policy.title.startswith("交办件：") and policy.key.startswith("adhoc-")
    await _told_in_the_readers_script(app, db, reader_id, reader, made.json()["policy_id"])
    staff = await api_token(client, add_user(db, UserRole.STAFF, "fpb")[1])
    inbox = (await client.get("/api/v1/assignments", headers=staff)).json()
    assert [r["id"] for r in inbox] == [rows["fpb"].id]
    ack = await client.post(
        f"/api/v1/assignments/{rows['fpb'].id}/acknowledge", json={}, headers=staff
    )
    assert ack.status_code == 200, ack.text

    for bad in (
        {**body, "deadline": ahead(-1)},
        {**body, "units": []},
        {**body, "units": ["nope"]},
        {**body, "cadence": "daily"},
        {**body, "title": ""},
        {**body, "extra": 1},
    ):
        assert (
            await client.post("/api/v1/adhoc-tasks", json=bad, headers=sup)
        ).status_code == 422, bad
    assert (await client.post("/api/v1/adhoc-tasks", json=body, headers=staff)).status_code == 403

    page_user = await login_as(UserRole.SUPERVISOR)
    form = await page_user.client.get("/adhoc/new")
    assert form.status_code == 200 and "新建交办件" in form.text
    fields = {
        "csrf_token": page_user.csrf,
        "title": "会议决定事项",
        "origin": "meeting",
        "lead": "czt",
        "deadline": ahead(30),
    }
    sent = await page_user.client.post("/adhoc/new", data=fields)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/policies/")
    refused = await page_user.client.post("/adhoc/new", data={**fields, "deadline": "明天"})
    assert refused.status_code == 422 and "办结时限" in refused.text
