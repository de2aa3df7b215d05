"""Workspace actions through real workflows: 签收, evidence, submit, extension, idempotent retries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from duban.db import utcnow
from duban.domain import UserRole
from duban.models import Assignment, Extension, Submission
from tests.web.browser import add_user, api_token, new_client
from tests.web.workspace_temporal import eventually, live_app, start_lead_and_co, workspace_temporal

__all__ = ["live_app", "workspace_temporal"]
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def app(live_app):
    """Every test here runs against the app wired to the dev server and a worker."""
    return live_app


@pytest.fixture
async def started(app, db):
    """A policy with one item, ours leading and theirs co-operating, workflows running."""
    mine, theirs = await start_lead_and_co(app, db)
    return {"own": "fpb", "mine": mine, "theirs": theirs}


def state_of(db, assignment_id: int) -> str:
    with db() as s:
        state: str = s.get_one(Assignment, assignment_id).state
        return state


async def test_page_flow_acknowledge_upload_submit(login_as, started, db):
    staff = await login_as(UserRole.STAFF, department=started["own"])
    aid = started["mine"]
    ack = await staff.client.post(
        f"/assignments/{aid}/acknowledge", data={"csrf_token": staff.csrf, "key": "k1"}
    )
    assert ack.status_code == 303
    assert await eventually(state_is(db, aid, "acknowledged"))
    again = await staff.client.post(
        f"/assignments/{aid}/acknowledge", data={"csrf_token": staff.csrf, "key": "k1"}
    )
    assert again.status_code == 303  # the same key returns the first result
    twice = await staff.client.post(
        f"/assignments/{aid}/acknowledge", data={"csrf_token": staff.csrf, "key": "k2"}
    )
    assert twice.status_code == 409 and "已签收" in twice.text
    files = [("files", ("报告.pdf", PDF)), ("files", ("现场.png", PNG))]
    up = await staff.client.post(
        f"/assignments/{aid}/evidence", data={"csrf_token": staff.csrf}, files=files
    )
    assert up.status_code == 303
    page = await staff.client.get(f"/assignments/{aid}")
    evidence_ids = _checkbox_values(page.text)
    assert len(evidence_ids) == 2
    form = {
        "csrf_token": staff.csrf,
        "key": "s1",
        "report": "已完成第一季度督导。",
        "evidence_ids": evidence_ids,
    }
    sent = await staff.client.post(f"/assignments/{aid}/submissions", data=form)
    assert sent.status_code == 303
    assert await eventually(state_is(db, aid, "submitted"))
    with db() as s:
        submission = s.scalars(select(Submission).where(Submission.assignment_id == aid)).one()
        assert submission.report == "已完成第一季度督导。"
        assert sorted(str(e.id) for e in submission.evidence) == sorted(evidence_ids)
    detail = await staff.client.get(f"/assignments/{aid}")
    assert (
        "已报送待审核" in detail.text
        and "报送进展" in detail.text
        and "上传证据材料" in detail.text
    )


async def test_htmx_action_answers_with_hx_location(login_as, started):
    staff = await login_as(UserRole.HEAD, department=started["own"])
    aid = started["mine"]
    response = await staff.client.post(
        f"/assignments/{aid}/acknowledge",
        data={"key": "h1"},
        headers={"HX-Request": "true", "X-CSRFToken": staff.csrf},
    )
    assert response.status_code == 204
    assert f'/assignments/{aid}"' in response.headers["hx-location"]


async def test_api_acknowledge_evidence_submit_and_extension(app, started, db):
    aid = started["mine"]
    async with new_client(app) as api:
        _, username = add_user(db, UserRole.STAFF, started["own"])
        headers = await api_token(api, username)
        ack = await api.post(
            f"/api/v1/assignments/{aid}/acknowledge", json={"key": "a1"}, headers=headers
        )
        assert ack.status_code == 200 and ack.json()["state"] in {"acknowledged", "in_progress"}
        evidence = await api.post(
            f"/api/v1/assignments/{aid}/evidence", files={"file": ("a.pdf", PDF)}, headers=headers
        )
        assert evidence.status_code == 201 and set(evidence.json()) >= {"id", "sha256", "size"}
        due = (utcnow() + timedelta(days=200)).isoformat()
        ext = await api.post(
            f"/api/v1/assignments/{aid}/extensions",
            json={"key": "e1", "requested_due_at": due, "reason": "汛期影响施工"},
            headers=headers,
        )
        assert ext.status_code == 201, ext.text
        body = {"key": "s1", "report": "进展顺利", "evidence_ids": [evidence.json()["id"]]}
        sub = await api.post(f"/api/v1/assignments/{aid}/submissions", json=body, headers=headers)
        assert sub.status_code == 201 and sub.json()["state"] == "submitted"
        repeat = await api.post(
            f"/api/v1/assignments/{aid}/submissions", json=body, headers=headers
        )
        assert repeat.status_code == 201 and repeat.json() == sub.json()
        late = await api.post(
            f"/api/v1/assignments/{aid}/submissions", json={**body, "key": "s2"}, headers=headers
        )
        assert late.status_code == 409 and late.json()["detail"]
        detail = (await api.get(f"/api/v1/assignments/{aid}", headers=headers)).json()
    assert detail["state"] == "submitted"
    assert [s["evidence_ids"] for s in detail["submissions"]] == [[evidence.json()["id"]]]
    assert {"acknowledged", "extension_requested", "submitted", "evidence_uploaded"} <= {
        e["kind"] for e in detail["timeline"]
    }
    with db() as s:
        assert s.scalars(select(Extension.state)).all() == ["pending"]


def state_is(db, assignment_id: int, state: str):
    """Return an async check that the read model shows `state`."""

    async def check() -> bool:
        return state_of(db, assignment_id) == state

    return check


def _checkbox_values(html: str) -> list[str]:
    return re.findall(r'name="evidence_ids" value="(\d+)"', html)


async def test_returned_submission_shows_its_reason(app, login_as, started, db):
    from actions import temporal
    from workflows.assignment import ReviewInput

    staff = await login_as(UserRole.STAFF, department=started["own"])
    aid = started["mine"]
    ack = {"csrf_token": staff.csrf, "key": "a1"}
    assert (await staff.client.post(f"/assignments/{aid}/acknowledge", data=ack)).status_code == 303
    form = {"csrf_token": staff.csrf, "key": "s1", "report": "初步完成摸底。"}
    assert (
        await staff.client.post(f"/assignments/{aid}/submissions", data=form)
    ).status_code == 303
    with db() as s:
        workflow_id = s.get_one(Assignment, aid).workflow_id
    verdict = ReviewInput(
        key="r1", user_id=1, actor="督查室", decision="return", comment="缺少佐证材料，请补充台账"
    )
    await temporal.review(await app.state.temporal.get(), workflow_id, verdict)
    assert await eventually(state_is(db, aid, "returned"))
    page = await staff.client.get(f"/assignments/{aid}")
    assert "退回理由：</strong>缺少佐证材料，请补充台账" in page.text
    assert "退回整改" in page.text and 'action="/assignments/' in page.text  # the forms are back
    body = (await staff.client.get(f"/api/v1/assignments/{aid}")).json()
    assert body["submissions"][0]["review_comment"] == "缺少佐证材料，请补充台账"
    assert body["timeline"][-1]["label"] == "退回整改"


async def test_no_report_before_acknowledge_on_page_or_api(app, login_as, started, db):
    """One rule: the page offers no report form before 签收 and the API refuses one."""
    staff = await login_as(UserRole.STAFF, department=started["own"])
    aid = started["mine"]
    page = (await staff.client.get(f"/assignments/{aid}")).text
    assert 'id="submit-form"' not in page and f"/assignments/{aid}/acknowledge" in page
    async with new_client(app) as api:
        _, username = add_user(db, UserRole.STAFF, started["own"])
        headers = await api_token(api, username)
        early = await api.post(
            f"/api/v1/assignments/{aid}/submissions",
            json={"report": "未签收先报送", "key": "s0"},
            headers=headers,
        )
    assert early.status_code == 409 and "请先签收" in early.text
    form = {"csrf_token": staff.csrf, "key": "s0", "report": "未签收先报送"}
    refused = await staff.client.post(f"/assignments/{aid}/submissions", data=form)
    assert refused.status_code == 409 and "请先签收" in refused.text
    assert state_of(db, aid) == "assigned"
    ack = {"csrf_token": staff.csrf, "key": "a1"}
    assert (await staff.client.post(f"/assignments/{aid}/acknowledge", data=ack)).status_code == 303
    assert 'id="submit-form"' in (await staff.client.get(f"/assignments/{aid}")).text


async def test_co_organizer_report_shows_on_the_lead_page(login_as, started, db):
    co_staff = await login_as(UserRole.STAFF, department="czt")
    theirs = started["theirs"]
    ack = {"csrf_token": co_staff.csrf, "key": "a1"}
    await co_staff.client.post(f"/assignments/{theirs}/acknowledge", data=ack)
    form = {"csrf_token": co_staff.csrf, "key": "s1", "report": "配合单位已拨付专项资金。"}
    sent = await co_staff.client.post(f"/assignments/{theirs}/submissions", data=form)
    assert sent.status_code == 303
    assert await eventually(state_is(db, theirs, "submitted"))
    lead = await login_as(UserRole.STAFF, department=started["own"])
    page = (await lead.client.get(f"/assignments/{started['mine']}")).text
    assert "配合单位报送" in page and "配合单位已拨付专项资金。" in page and "省财政厅" in page
