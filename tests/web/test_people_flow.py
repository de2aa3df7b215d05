"""The named-people flow through real workflows (Temporal dev server), on SQLite and PostgreSQL:
the head hands the task to a member, whose report waits for the head's sign-off, then the
supervisor asks in the conversation, gets an answer and approves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from duban.domain import UserRole
from duban.models import Assignment, AuditEvent, Submission
from tests.db import BACKENDS
from tests.web.browser import add_user, api_token
from tests.web.workspace_temporal import eventually, live_app, start_lead_and_co, workspace_temporal

__all__ = ["live_app", "workspace_temporal"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This flow runs on both databases."""
    return str(request.param)


@pytest.fixture
def app(live_app):
    """The app wired to the dev server and a worker."""
    return live_app


def state_of(db, aid: int) -> str:
    with db() as s:
        return str(s.get_one(Assignment, aid).state)


def kinds(db, aid: int) -> list[str]:
    with db() as s:
        stmt = select(AuditEvent.kind).where(AuditEvent.assignment_id == aid)
        return list(s.scalars(stmt.order_by(AuditEvent.id)))


async def test_member_reports_head_signs_off_supervisor_asks_and_approves(
    app, db, client, login_as
):
    aid, _ = await start_lead_and_co(app, db)
    with db() as s:
        policy_id = s.get_one(Assignment, aid).policy_id
    staff_id, staff_name = add_user(db, UserRole.STAFF, "fpb", username="fpb-wang")
    staff = await api_token(client, staff_name)
    head = await login_as(UserRole.HEAD, department="fpb")
    head_api = await api_token(client, head.username)
    sup = await api_token(client, add_user(db, UserRole.SUPERVISOR)[1])

    settings = f"/api/v1/policies/{policy_id}/settings"
    assert (
        await client.put(settings, json={"head_sign_off": True}, headers=staff)
    ).status_code == 403
    assert (
        await client.put(
            "/api/v1/policies/999999/settings", json={"head_sign_off": True}, headers=sup
        )
    ).status_code == 404
    on = await client.put(settings, json={"head_sign_off": True}, headers=sup)
    assert on.status_code == 200 and on.json()["head_sign_off"] is True
    handed = await client.put(
        f"/api/v1/assignments/{aid}/assignee", json={"assignee_id": staff_id}, headers=head_api
    )
    assert handed.status_code == 200

    ack = await client.post(
        f"/api/v1/assignments/{aid}/acknowledge", json={"key": "a1"}, headers=staff
    )
    assert ack.status_code == 200, ack.text
    sent = await client.post(
        f"/api/v1/assignments/{aid}/submissions",
        json={"report": "已完成八成。", "key": "s1"},
        headers=staff,
    )
    assert sent.status_code == 201 and "责任人审核" in sent.json()["message"]
    assert state_of(db, aid) == "head_review"
    assert (await client.get("/api/v1/reviews", headers=sup)).json() == []  # not yet up
    page = (await head.client.get(f"/assignments/{aid}")).text
    assert "待责任人审核的报送" in page and "已完成八成。" in page and "同意报送督查室" in page

    path = f"/api/v1/assignments/{aid}/sign-off"
    assert (await client.post(path, json={"approve": True}, headers=staff)).status_code == 403
    assert (
        await client.post(path, json={"approve": False, "comment": " "}, headers=head_api)
    ).status_code == 422
    assert (await client.post(path, json={"approve": "maybe"}, headers=head_api)).status_code == 422
    signed = await head.client.post(
        f"/assignments/{aid}/sign-off",
        data={"csrf_token": head.csrf, "decision": "yes", "key": "h1"},
    )
    assert signed.status_code == 303, signed.text
    assert state_of(db, aid) == "submitted"
    again = await client.post(path, json={"approve": True, "key": "h2"}, headers=head_api)
    assert again.status_code == 409
    with db() as s:
        sub = s.scalars(select(Submission).where(Submission.assignment_id == aid)).one()
        assert sub.report == "已完成八成。"

    asked = await client.post(
        f"/api/v1/assignments/{aid}/messages", json={"body": "@fpb-wang 八成指什么？"}, headers=sup
    )
    assert asked.status_code == 201
    answered = await client.post(
        f"/api/v1/assignments/{aid}/messages",
        json={"body": "已搬迁 80 户中的 64 户。"},
        headers=staff,
    )
    assert answered.status_code == 201
    review = await client.post(
        f"/api/v1/assignments/{aid}/review",
        json={"decision": "approve", "rating": 5, "key": "r1"},
        headers=sup,
    )
    assert review.status_code == 200, review.text
    await eventually(lambda: _approved(db, aid))
    timeline = kinds(db, aid)
    for kind in (
        "assignee_set",
        "submitted_for_sign_off",
        "signed_off",
        "submitted",
        "message",
        "reviewed",
    ):
        assert kind in timeline, kind
    assert timeline.index("signed_off") < timeline.index("submitted")


async def _approved(db, aid: int) -> bool:
    return state_of(db, aid) in ("approved", "completed")
