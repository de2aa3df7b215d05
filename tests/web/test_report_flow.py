"""A report that follows its task's template, through real workflows (issue 15), on both databases."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from actions import temporal
from duban.domain import UserRole
from duban.errors import Invalid
from duban.models import Assignment, AuditEvent, Submission
from duban.rules import ReportField, ReportSpec, spec_json
from tests.db import BACKENDS
from tests.web.browser import add_user, api_token, new_client
from tests.web.workspace_temporal import eventually, live_app, start_and_wait, workspace_temporal
from tests.workspace import make_assignment, make_department, make_policy
from workflows.assignment import SubmitInput

__all__ = ["live_app", "workspace_temporal"]
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TEMPLATE = {
    "fields": [
        {
            "name": "villages",
            "label": "认定脱贫村数量",
            "type": "number",
            "unit": "个",
            "required": True,
        },
        {
            "name": "status",
            "label": "推进情况",
            "type": "choice",
            "choices": ["按期", "滞后"],
            "required": True,
        },
        {"name": "finished_on", "label": "完成日期", "type": "date"},
    ],
    "evidence_kinds": ["pdf"],
}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Answers are stored through the workflow's activities: both databases."""
    return str(request.param)


@pytest.fixture
def app(live_app):
    """The app wired to the dev server and a worker."""
    return live_app


@pytest.fixture
async def started(app, db):
    """Item 5 for 省扶贫办 (fpb) with its workflow running and a template set by a supervisor."""
    with db.begin() as s:
        policy = make_policy(s)
        fpb = make_department(s, "fpb", "省扶贫办")
        aid = make_assignment(s, policy=policy, department=fpb, periods=0).id
        key, pid = policy.key, policy.id
    await start_and_wait(app, key, [aid])
    async with new_client(app) as api:
        _, sup = add_user(db, UserRole.SUPERVISOR)
        url = f"/api/v1/policies/{pid}/tasks/5/report-template"
        put = await api.put(url, json=TEMPLATE, headers=await api_token(api, sup))
        assert put.status_code == 200, put.text
    return {"aid": aid, "policy": pid}


def state_is(db, aid: int, state: str):
    async def check() -> bool:
        with db() as s:
            return bool(s.get_one(Assignment, aid).state == state)

    return check


async def test_the_report_page_follows_the_template(login_as, started, db):
    aid = started["aid"]
    staff = await login_as(UserRole.STAFF, department="fpb")
    ack = await staff.client.post(
        f"/assignments/{aid}/acknowledge", data={"csrf_token": staff.csrf, "key": "a"}
    )
    assert ack.status_code == 303
    await eventually(state_is(db, aid, "acknowledged"))
    page = await staff.client.get(f"/assignments/{aid}")
    assert 'name="answer.villages"' in page.text and 'name="answer.status"' in page.text
    assert 'type="date"' in page.text and "须附证据材料" in page.text and "PDF 文件" in page.text
    up = await staff.client.post(
        f"/assignments/{aid}/evidence",
        data={"csrf_token": staff.csrf},
        files=[("files", ("现场.png", PNG))],
    )
    assert up.status_code == 303
    png_ids = re.findall(
        r'name="evidence_ids" value="(\d+)"', (await staff.client.get(f"/assignments/{aid}")).text
    )
    form = {"csrf_token": staff.csrf, "report": "已完成认定。", "evidence_ids": png_ids}
    missing = await staff.client.post(f"/assignments/{aid}/submissions", data={**form, "key": "s1"})
    assert missing.status_code == 422 and "请填写“认定脱贫村数量”" in missing.text
    assert "已完成认定。" in missing.text  # what was typed comes back
    bad = {**form, "key": "s2", "answer.villages": "三百", "answer.status": "按期"}
    wrong = await staff.client.post(f"/assignments/{aid}/submissions", data=bad)
    assert (
        wrong.status_code == 422 and "须为数字" in wrong.text and "须附上：PDF 文件" in wrong.text
    )
    assert 'value="三百"' in wrong.text
    junk = await staff.client.post(
        f"/assignments/{aid}/submissions", data={**form, "key": "s3", "sneaky": "1"}
    )
    assert junk.status_code == 422
    with db() as s:
        assert s.get_one(Assignment, aid).state == "acknowledged"
        assert s.scalars(select(Submission)).all() == []
    await staff.client.post(
        f"/assignments/{aid}/evidence",
        data={"csrf_token": staff.csrf},
        files=[("files", ("台账.pdf", PDF))],
    )
    ids = re.findall(
        r'name="evidence_ids" value="(\d+)"', (await staff.client.get(f"/assignments/{aid}")).text
    )
    good = {**form, "evidence_ids": ids, "key": "s4", "answer.villages": "1,300", "answer.status": "按期",
            "answer.finished_on": "2026-03-31"}  # fmt: skip
    sent = await staff.client.post(f"/assignments/{aid}/submissions", data=good)
    assert sent.status_code == 303, sent.text
    await eventually(state_is(db, aid, "submitted"))
    with db() as s:
        submission = s.scalars(select(Submission)).one()
        assert submission.answers == {
            "villages": "1300",
            "status": "按期",
            "finished_on": "2026-03-31",
        }
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "submitted")).one()
        assert event.data["answers"]["villages"] == "1300"
    detail = await staff.client.get(f"/assignments/{aid}")
    assert "<dt>认定脱贫村数量</dt><dd>1300 个</dd>" in detail.text
    assert detail.text.count("<dt>推进情况</dt><dd>按期</dd>") == 2  # the report and the timeline
    sup = await login_as(UserRole.SUPERVISOR)
    queue = await sup.client.get("/reviews")
    assert "<dt>认定脱贫村数量</dt><dd>1300 个</dd>" in queue.text
    api_queue = await sup.client.get("/api/v1/reviews")
    assert api_queue.json()[0]["answers"]["villages"] == "1300"


async def test_api_submit_checks_the_template_and_the_workflow_too(app, started, db):
    aid = started["aid"]
    async with new_client(app) as api:
        _, username = add_user(db, UserRole.STAFF, "fpb")
        headers = await api_token(api, username)
        ack = await api.post(
            f"/api/v1/assignments/{aid}/acknowledge", json={"key": "a"}, headers=headers
        )
        assert ack.status_code == 200
        pdf = await api.post(
            f"/api/v1/assignments/{aid}/evidence", files={"file": ("a.pdf", PDF)}, headers=headers
        )
        eid = pdf.json()["id"]
        base = {"report": "进展", "evidence_ids": [eid]}
        for answers in ({}, {"villages": "x", "status": "按期"}, {"villages": "1", "status": "按期", "ghost": "1"},
                        {"villages": "1", "status": "按期", "finished_on": "2026-02-30"}):  # fmt: skip
            answer = await api.post(
                f"/api/v1/assignments/{aid}/submissions",
                json={**base, "answers": answers},
                headers=headers,
            )
            assert answer.status_code == 422, answer.text
        for junk in ({"villages": 3}, {"v" * 40: "1"}, {"villages": "9" * 3000}):
            answer = await api.post(
                f"/api/v1/assignments/{aid}/submissions",
                json={**base, "answers": junk},
                headers=headers,
            )
            assert answer.status_code == 422
        # The workflow's validator holds the same rule: a forged input is refused there too.
        spec = ReportSpec(
            fields=[ReportField("villages", "认定脱贫村数量", "number", required=True)]
        )
        forged = SubmitInput(
            key="forged", user_id=1, actor="x", report="进展", template=spec_json(spec), answers={}
        )
        with db() as s:
            workflow_id = s.get_one(Assignment, aid).workflow_id
        client = await app.state.temporal.get()
        with pytest.raises(Invalid, match="请填写“认定脱贫村数量”"):  # the validator's refusal
            await temporal.submit(client, workflow_id, forged)
        ok = await api.post(
            f"/api/v1/assignments/{aid}/submissions",
            json={**base, "key": "s", "answers": {"villages": "300", "status": "滞后"}},
            headers=headers,
        )
        assert ok.status_code == 201, ok.text
        await eventually(state_is(db, aid, "submitted"))
        read = await api.get(f"/api/v1/assignments/{aid}", headers=headers)
        assert read.json()["submissions"][0]["answers"] == {"villages": "300", "status": "滞后"}
    # The assessment office's workbook carries the answers.
    async with new_client(app) as api:
        _, assessor = add_user(db, UserRole.ASSESSOR)
        with db() as s:
            at = s.scalars(select(Submission)).one().submitted_at
        quarter = f"{at.year}Q{(at.month - 1) // 3 + 1}"
        xlsx = await api.get(
            "/api/v1/assessment/export.xlsx",
            params={"period": quarter},
            headers=await api_token(api, assessor),
        )
        assert xlsx.status_code == 200
        rows = list(load_workbook(io.BytesIO(xlsx.content))["报送表单"].iter_rows(values_only=True))
        assert [r[4:] for r in rows[1:]] == [("认定脱贫村数量", "300 个"), ("推进情况", "滞后")]
