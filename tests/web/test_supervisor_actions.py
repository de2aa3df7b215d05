"""Supervisor actions through real workflows: review, bulk approve, due date, extensions, 催办."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from duban.db import utcnow
from duban.domain import UserRole
from duban.models import Assignment, AuditEvent, Extension, Notification, Submission
from tests.web.browser import add_user, api_token
from tests.web.workspace_temporal import eventually, live_app, start_lead_and_co, workspace_temporal

__all__ = ["live_app", "workspace_temporal"]


@pytest.fixture
def app(live_app):
    """Every test here runs against the app wired to the dev server and a worker."""
    return live_app


@pytest.fixture
async def started(app, db):
    """Two departments' assignments of one item, workflows running."""
    fpb, czt = await start_lead_and_co(app, db)
    return {"fpb": fpb, "czt": czt}


def count(db, model, **where) -> int:
    with db() as s:
        stmt = select(func.count()).select_from(model)
        for name, value in where.items():
            stmt = stmt.where(getattr(model, name) == value)
        return int(s.scalar(stmt) or 0)


def row(db, assignment_id: int) -> Assignment:
    with db() as s:
        assignment: Assignment = s.get_one(Assignment, assignment_id)
        return assignment


async def submitted(app, db, client, aid: int, dept: str, key: str) -> dict[str, str]:
    """Submit a report as the department's staff through the API; return its headers."""
    _, username = add_user(db, UserRole.STAFF, department=dept)
    headers = await api_token(client, username)
    ack = await client.post(
        f"/api/v1/assignments/{aid}/acknowledge", json={"key": f"a-{key}"}, headers=headers
    )
    assert ack.status_code in (200, 409), ack.text  # 签收 first; a second submit finds it done
    sent = await client.post(
        f"/api/v1/assignments/{aid}/submissions",
        json={"report": "本季度已完成。", "key": key},
        headers=headers,
    )
    assert sent.status_code == 201, sent.text
    await eventually(lambda: _state(db, aid, "submitted"))
    return headers


async def _state(db, aid: int, state: str) -> bool:
    return row(db, aid).state == state


async def test_bad_reviews_are_refused_and_change_nothing(app, started, db, client, login_as):
    aid = started["fpb"]
    await submitted(app, db, client, aid, "fpb", "s1")
    sup = await login_as(UserRole.SUPERVISOR)
    path = f"/api/v1/assignments/{aid}/review"
    for body, message in [
        # The range is in the schema: refused by validation, which names the field.
        ({"decision": "approve", "rating": 0}, "rating"),
        ({"decision": "approve", "rating": 6}, "rating"),
        ({"decision": "approve"}, "1 至 5"),
        ({"decision": "return", "comment": "  "}, "退回理由"),
        (
            {"decision": "return", "comment": "补材料", "new_due_at": "2020-01-01T00:00:00+08:00"},
            "晚于",
        ),
    ]:
        response = await sup.client.post(path, json=body, headers={"x-csrftoken": sup.csrf})
        assert response.status_code == 422, body
        assert message in response.json()["detail"]
    bad_page = await sup.client.post(
        f"/assignments/{aid}/review",
        data={"csrf_token": sup.csrf, "decision": "approve", "rating": "6", "next": "/reviews"},
    )
    assert (
        bad_page.status_code == 422 and "1 至 5" in bad_page.text and "待审核报送" in bad_page.text
    )
    malformed = await sup.client.post(
        f"/assignments/{aid}/review",
        data={
            "csrf_token": sup.csrf,
            "decision": "return",
            "comment": "补",
            "new_due_date": "2027-13-45",
        },
    )
    assert malformed.status_code == 422 and "YYYY-MM-DD" in malformed.text
    forged = await sup.client.post(
        f"/assignments/{aid}/review",
        data={"csrf_token": "forged", "decision": "approve", "rating": "5"},
    )
    assert forged.status_code == 403
    assert row(db, aid).state == "submitted"
    assert count(db, Submission, assignment_id=aid, state="submitted") == 1
    assert count(db, AuditEvent, assignment_id=aid, kind="reviewed") == 0


async def test_return_then_resubmit_then_approve_and_department_is_told(
    app, started, db, client, login_as
):
    aid = started["fpb"]
    staff_headers = await submitted(app, db, client, aid, "fpb", "s1")
    sup = await login_as(UserRole.SUPERVISOR)
    returned = await sup.client.post(
        f"/assignments/{aid}/review",
        data={
            "csrf_token": sup.csrf,
            "decision": "return",
            "comment": "请补充资金拨付凭证",
            "next": "/reviews",
        },
    )
    assert returned.status_code == 303 and returned.headers["location"] == "/reviews"
    await eventually(lambda: _state(db, aid, "returned"))
    queue = await sup.client.get("/reviews")
    assert "已退回" in queue.text  # the flash message
    again = await client.post(
        f"/api/v1/assignments/{aid}/submissions",
        json={"report": "已补充凭证。", "key": "s2"},
        headers=staff_headers,
    )
    assert again.status_code == 201
    await eventually(lambda: _state(db, aid, "submitted"))
    [pending] = (await sup.client.get("/api/v1/reviews")).json()
    assert pending["report"] == "已补充凭证。"
    approve = await sup.client.post(
        f"/api/v1/assignments/{aid}/review",
        json={"decision": "approve", "rating": 5, "comment": "很好", "key": "ok1"},
        headers={"x-csrftoken": sup.csrf},
    )
    assert approve.status_code == 200, approve.text
    with db() as s:
        verdicts = s.scalars(
            select(Submission.state).where(Submission.assignment_id == aid).order_by(Submission.id)
        ).all()
    assert verdicts == ["returned", "approved"]

    async def told() -> bool:  # notices go out just after the answer (notify-after-answer)
        with db() as s:
            kinds = s.scalars(select(Notification.kind).where(Notification.assignment_id == aid))
            return {"review_return", "review_approve"} <= set(kinds)

    await eventually(told)
    assert (await sup.client.get("/api/v1/reviews")).json() == []


async def test_bulk_approve_from_the_queue(app, started, db, client, login_as):
    await submitted(app, db, client, started["fpb"], "fpb", "b1")
    await submitted(app, db, client, started["czt"], "czt", "b2")
    sup = await login_as(UserRole.SUPERVISOR)
    queue = (await sup.client.get("/api/v1/reviews")).json()
    ids = [r["submission_id"] for r in queue]
    assert len(ids) == 2
    bad = await sup.client.post(
        "/reviews/bulk-approve", data={"csrf_token": sup.csrf, "submission_ids": ids, "rating": "0"}
    )
    assert bad.status_code == 422 and count(db, Submission, state="approved") == 0
    done = await sup.client.post(
        "/reviews/bulk-approve", data={"csrf_token": sup.csrf, "submission_ids": ids, "rating": "4"}
    )
    assert done.status_code == 303
    assert count(db, Submission, state="approved") == 2
    repeat = await sup.client.post(
        "/api/v1/reviews/bulk-approve",
        json={"submission_ids": ids, "rating": 4},
        headers={"x-csrftoken": sup.csrf},
    )
    assert repeat.status_code == 200
    assert [r["ok"] for r in repeat.json()] == [False, False]  # already reviewed: nothing twice
    assert count(db, AuditEvent, kind="reviewed") == 2


async def test_due_date_moves_and_original_stays(app, started, db, login_as):
    aid = started["fpb"]
    before = row(db, aid)
    sup = await login_as(UserRole.SUPERVISOR)
    headers = {"x-csrftoken": sup.csrf}
    path = f"/api/v1/assignments/{aid}/due"
    past = await sup.client.post(
        path, json={"due_at": "2020-01-01T00:00:00+08:00"}, headers=headers
    )
    assert past.status_code == 422 and "晚于当前时间" in past.json()["detail"]
    malformed = await sup.client.post(path, json={"due_at": "明天"}, headers=headers)
    assert malformed.status_code == 422
    naive = await sup.client.post(path, json={"due_at": "2099-01-01T00:00:00"}, headers=headers)
    assert naive.status_code == 422 and "时区" in naive.json()["detail"]
    assert row(db, aid).due_at == before.due_at
    new_due = (utcnow() + timedelta(days=200)).replace(microsecond=0)
    moved = await sup.client.post(
        path, json={"due_at": new_due.isoformat(), "reason": "统一调整"}, headers=headers
    )
    assert moved.status_code == 200, moved.text
    await eventually(lambda: _due_is(db, aid, new_due))
    after = row(db, aid)
    assert after.original_due_at == before.original_due_at
    assert count(db, AuditEvent, assignment_id=aid, kind="due_moved") == 1


async def _due_is(db, aid, due) -> bool:
    return bool(row(db, aid).due_at == due)


async def test_extension_grant_keeps_the_original_and_foreign_ids_are_refused(
    app, started, db, client, login_as
):
    aid, other = started["fpb"], started["czt"]
    _, username = add_user(db, UserRole.STAFF, department="fpb")
    staff = await api_token(client, username)
    wanted = (utcnow() + timedelta(days=120)).replace(microsecond=0)
    asked = await client.post(
        f"/api/v1/assignments/{aid}/extensions",
        json={"requested_due_at": wanted.isoformat(), "reason": "资金下达延迟"},
        headers=staff,
    )
    assert asked.status_code == 201, asked.text
    await eventually(lambda: _has_extension(db, aid))
    with db() as s:
        eid = s.scalars(select(Extension.id).where(Extension.assignment_id == aid)).one()
    original = row(db, aid).original_due_at
    sup = await login_as(UserRole.SUPERVISOR)
    listed = (await sup.client.get("/api/v1/extensions")).json()
    assert [(x["id"], x["reason"]) for x in listed] == [(eid, "资金下达延迟")]
    foreign = await sup.client.post(
        f"/api/v1/assignments/{other}/extensions/{eid}/decision",
        json={"grant": True},
        headers={"x-csrftoken": sup.csrf},
    )
    assert foreign.status_code == 404
    refuse_no_reason = await sup.client.post(
        f"/assignments/{aid}/extensions/{eid}/decision",
        data={"csrf_token": sup.csrf, "grant": "no", "comment": ""},
    )
    assert refuse_no_reason.status_code == 422 and "理由" in refuse_no_reason.text
    granted = await sup.client.post(
        f"/assignments/{aid}/extensions/{eid}/decision",
        data={"csrf_token": sup.csrf, "grant": "yes", "next": "/reviews#extensions"},
    )
    assert granted.status_code == 303
    await eventually(lambda: _due_is(db, aid, wanted))
    assert row(db, aid).original_due_at == original
    with db() as s:
        assert s.get_one(Extension, eid).state == "granted"


async def _has_extension(db, aid) -> bool:
    return count(db, Extension, assignment_id=aid) == 1


async def test_urge_is_one_click_recorded_and_told(app, started, db, login_as):
    aid = started["fpb"]
    sup = await login_as(UserRole.SUPERVISOR)
    _, _ = add_user(db, UserRole.STAFF, department="fpb")
    api = await sup.client.post(
        f"/api/v1/assignments/{aid}/urge",
        json={"message": "请本周内报送", "key": "u2"},
        headers={"x-csrftoken": sup.csrf},
    )
    assert api.status_code == 202
    # A second click within the cooldown is refused with a clear message, not sent twice.
    again = await sup.client.post(
        f"/api/v1/assignments/{aid}/urge", json={"key": "u3"}, headers={"x-csrftoken": sup.csrf}
    )
    assert again.status_code == 409 and "分钟内不能重复催办" in again.json()["detail"]
    frag = await sup.client.post(
        f"/assignments/{aid}/urge",
        data={"csrf_token": sup.csrf, "key": "u1"},
        headers={"HX-Request": "true"},
    )
    assert (
        frag.status_code == 422 and "分钟内不能重复催办" in frag.text and "<html" not in frag.text
    )
    plain = await sup.client.post(
        f"/assignments/{aid}/urge", data={"csrf_token": sup.csrf, "key": "u1", "next": "/board"}
    )
    assert plain.status_code == 409 and "分钟内不能重复催办" in plain.text

    async def recorded_and_told() -> bool:
        urged = count(db, AuditEvent, assignment_id=aid, kind="urged")
        return urged == 1 and count(db, Notification, assignment_id=aid, kind="urge") == 1

    await eventually(recorded_and_told)
    # After a reload the board shows when it was urged and with what message.
    board = (await sup.client.get("/api/v1/board")).json()
    urged_row = next(r for r in board["rows"] if r["assignment_id"] == aid)
    assert urged_row["last_urge_message"] == "请本周内报送" and urged_row["last_urged_at"]
    assert "上次催办" in (await sup.client.get("/board")).text
    missing = await sup.client.post(
        "/api/v1/assignments/999999/urge", json={}, headers={"x-csrftoken": sup.csrf}
    )
    assert missing.status_code == 404
