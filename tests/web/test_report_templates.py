"""Report templates and evidence reuse on the web (issue 15): pages, API, bad input, attackers.

No workflow runs here (tests/web/test_report_flow.py submits through real ones); both databases.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from duban.domain import UserRole
from duban.models import AuditEvent, Evidence, ReportTemplate
from tests.db import BACKENDS
from tests.web.browser import add_user, api_token, new_client
from tests.workspace import make_assignment, make_department, make_policy

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ROWS = {
    "field_label": ["认定脱贫村数量", "推进情况", "完成日期", ""],
    "field_name": ["villages", "status", "", ""],
    "field_type": ["number", "choice", "date", "text"],
    "field_unit": ["个", "", "", ""],
    "field_choices": ["", "按期、滞后", "", ""],
    "field_required": ["0", "1"],
    "evidence_kinds": ["pdf"],
}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """These tests write and read templates, answers and evidence: both databases."""
    return str(request.param)


@pytest.fixture
def world(db):
    """One policy with items 5 and 6: ours (fpb) on both, theirs (czt) on 6."""
    with db.begin() as s:
        policy = make_policy(
            s, items=[{"number": 5, "title": "认定脱贫村"}, {"number": 6, "title": "建设"}]
        )
        fpb, czt = make_department(s, "fpb", "省扶贫办"), make_department(s, "czt", "省财政厅")
        a5 = make_assignment(s, policy=policy, department=fpb, periods=0)
        a6 = make_assignment(s, policy=policy, department=fpb, item_number=6, periods=0)
        other = make_assignment(s, policy=policy, department=czt, item_number=6, periods=0)
        return {"policy": policy.id, "key": policy.key, "a5": a5.id, "a6": a6.id, "other": other.id}


def template_url(world) -> str:
    return f"/policies/{world['policy']}/tasks/5/report-template"


async def test_template_page_saves_and_refuses_bad_rows(login_as, world, db):
    sup = await login_as(UserRole.SUPERVISOR)
    page = await sup.client.get(template_url(world))
    assert page.status_code == 200 and "报送模板" in page.text and "认定脱贫村" in page.text
    saved = await sup.client.post(template_url(world), data={"csrf_token": sup.csrf, **ROWS})
    assert saved.status_code == 303
    again = await sup.client.get(template_url(world))
    assert 'value="认定脱贫村数量"' in again.text and "报送模板已保存" in again.text
    with db() as s:
        template = s.scalars(select(ReportTemplate)).one()
        assert [f["name"] for f in template.fields] == ["villages", "status", "f3"]
        assert [f["required"] for f in template.fields] == [True, True, False]
        assert template.fields[1]["choices"] == ["按期", "滞后"]
    dupes = {**ROWS, "field_name": ["villages", "villages", "", ""]}
    bad = await sup.client.post(template_url(world), data={"csrf_token": sup.csrf, **dupes})
    assert bad.status_code == 422 and "字段名称重复：villages" in bad.text
    assert 'value="villages"' in bad.text  # the rows come back as typed
    typo = {**ROWS, "field_type": ["money", "choice", "date", "text"]}
    refused = await sup.client.post(template_url(world), data={"csrf_token": sup.csrf, **typo})
    assert refused.status_code == 422 and "类型须为" in refused.text
    many = {"field_label": [f"字段{i}" for i in range(100)], "field_type": ["text"] * 100}
    huge = await sup.client.post(template_url(world), data={"csrf_token": sup.csrf, **many})
    assert huge.status_code == 422 and "至多 20 个字段" in huge.text
    flood = {"field_label": [f"字段{i}" for i in range(5000)], "field_type": ["text"] * 5000}
    flooded = await sup.client.post(template_url(world), data={"csrf_token": sup.csrf, **flood})
    assert flooded.status_code == 400  # past the form parser's field limit, before any rule
    with db() as s:  # nothing of the bad ones was kept
        template = s.scalars(select(ReportTemplate)).one()
        assert [f["name"] for f in template.fields] == ["villages", "status", "f3"]
    staff = await login_as(UserRole.STAFF, department="fpb")
    assert (await staff.client.get(template_url(world))).status_code == 403
    missing = await sup.client.get(f"/policies/{world['policy']}/tasks/99/report-template")
    assert missing.status_code == 404


async def test_api_template_validation(app, world, db):
    url = f"/api/v1{template_url(world)}"
    good: dict[str, Any] = {
        "fields": [
            {
                "name": "villages",
                "label": "认定脱贫村数量",
                "type": "number",
                "unit": "个",
                "required": True,
            }
        ],
        "evidence_kinds": ["pdf", "image"],
    }
    async with new_client(app) as api:
        _, sup_name = add_user(db, UserRole.SUPERVISOR)
        sup = await api_token(api, sup_name)
        _, staff_name = add_user(db, UserRole.STAFF, "fpb")
        staff = await api_token(api, staff_name)
        empty = await api.get(url, headers=staff)
        assert empty.status_code == 200 and empty.json()["fields"] == []
        assert (await api.put(url, json=good, headers=staff)).status_code == 403
        put = await api.put(url, json=good, headers=sup)
        assert put.status_code == 200 and put.json()["evidence_kinds"] == ["pdf", "image"]
        field = good["fields"][0]
        bad_bodies = [
            {"fields": [{**field, "type": "money"}]},
            {"fields": [field, field]},  # duplicate names
            {"fields": [{**field, "required": "yes"}]},
            {"fields": [{**field, "name": "村数"}]},
            {"fields": [{"name": "c", "label": "选项", "type": "choice", "choices": ["一"]}]},
            {"evidence_kinds": ["exe"]},
            {"fields": [{**field, "name": f"f{i}"} for i in range(10_000)]},
            {"fields": [], "extra": 1},
        ]
        for body in bad_bodies:
            answer = await api.put(url, json=body, headers=sup)
            assert answer.status_code in {413, 422}, (body, answer.text)
            assert "detail" in answer.json()
        after = await api.get(url, headers=staff)
        assert after.json()["fields"][0]["name"] == "villages" and len(after.json()["fields"]) == 1
        other = await api.get(
            f"/api/v1/policies/{world['policy']}/tasks/99/report-template", headers=staff
        )
        assert other.status_code == 404


async def test_reuse_pages_and_api(login_as, app, world, db):
    staff = await login_as(UserRole.STAFF, department="fpb")
    a5, a6 = world["a5"], world["a6"]
    up = await staff.client.post(
        f"/assignments/{a5}/evidence",
        data={"csrf_token": staff.csrf},
        files=[("files", ("第一季度台账.pdf", PDF))],
    )
    assert up.status_code == 303
    with db() as s:
        source = s.scalars(select(Evidence).where(Evidence.assignment_id == a5)).one()
    page = await staff.client.get(f"/assignments/{a6}")
    assert "从已上传材料中选择" in page.text and "第一季度台账.pdf" in page.text
    search = await staff.client.get(f"/assignments/{a6}/reusable-evidence", params={"q": "台账"})
    assert search.status_code == 200 and "第一季度台账.pdf" in search.text
    nothing = await staff.client.get(
        f"/assignments/{a6}/reusable-evidence", params={"q": "无此文件"}
    )
    assert "没有找到" in nothing.text
    fragment = await staff.client.get(
        f"/assignments/{a6}/reusable-evidence", params={"q": "台账"}, headers={"HX-Request": "true"}
    )
    assert "<html" not in fragment.text and "第一季度台账.pdf" in fragment.text
    reused = await staff.client.post(
        f"/assignments/{a6}/reusable-evidence",
        data={"csrf_token": staff.csrf, "evidence_id": str(source.id)},
    )
    assert reused.status_code == 303
    detail = await staff.client.get(f"/assignments/{a6}")
    assert "已附上：第一季度台账.pdf" in detail.text and "复用已上传材料" in detail.text
    with db() as s:
        copy = s.scalars(select(Evidence).where(Evidence.assignment_id == a6)).one()
        assert copy.sha256 == source.sha256 and copy.id != source.id

    # The other department: their file is not offered, and its id attaches nothing.
    async with new_client(app) as api:
        _, theirs = add_user(db, UserRole.STAFF, "czt")
        their_headers = await api_token(api, theirs)
        their_file = await api.post(
            f"/api/v1/assignments/{world['other']}/evidence",
            files={"file": ("他们的.png", PNG)},
            headers=their_headers,
        )
        assert their_file.status_code == 201
        _, mine = add_user(db, UserRole.STAFF, "fpb")
        headers = await api_token(api, mine)
        listed = await api.get(f"/api/v1/assignments/{a5}/reusable-evidence", headers=headers)
        assert listed.status_code == 200 and listed.json() == []  # a6's copy is the same file
        count = _count(db, Evidence)
        for forged in (their_file.json()["id"], 999_999, 2**31 - 1):
            answer = await api.post(
                f"/api/v1/assignments/{a5}/reusable-evidence",
                json={"evidence_id": forged},
                headers=headers,
            )
            assert answer.status_code == 404, answer.text
        for junk in ({"evidence_id": "7"}, {"evidence_id": 0}, {"evidence_id": 2**31}, {}):
            answer = await api.post(
                f"/api/v1/assignments/{a5}/reusable-evidence", json=junk, headers=headers
            )
            assert answer.status_code == 422
        # Attaching to the other department's assignment: 404, whichever file.
        intrude = await api.post(
            f"/api/v1/assignments/{world['other']}/reusable-evidence",
            json={"evidence_id": source.id},
            headers=headers,
        )
        assert intrude.status_code == 404
        assert _count(db, Evidence) == count
        ok = await api.post(
            f"/api/v1/assignments/{a5}/reusable-evidence",
            json={"evidence_id": source.id},
            headers=headers,
        )
        assert ok.status_code == 201 and ok.json()["id"] == source.id  # already here: same row
    with db() as s:
        kinds = s.scalars(select(AuditEvent.kind).where(AuditEvent.kind == "evidence_reused")).all()
        assert len(kinds) == 1


def _count(db, model) -> int:
    with db() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)
