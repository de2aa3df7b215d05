"""The 立项 workbench over HTTP (no Temporal): upload, review, corrections, locks, roles, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from duban.domain import UserRole
from duban.models import Policy, PolicyDraft
from tests.db import BACKENDS
from tests.web.browser import api_token

SAMPLE = (Path(__file__).parent / "data" / "renwu-fengong.txt").read_bytes()


def _scanned_pdf() -> bytes:
    """A valid PDF whose page holds only a drawing: no text layer, as a scan."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The workbench stores drafts, locks and logs: check it on both databases."""
    return str(request.param)


async def _upload(who, content=SAMPLE, name="fengong.txt", **extra):
    files = {"file": (name, content, "text/plain")}
    data = {"csrf_token": who.csrf, **extra}
    return await who.client.post("/policies/drafts", files=files, data=data)


def _lock(html: str) -> str:
    found = re.search(r'name="lock_version" value="(\d+)"', html)
    assert found is not None, "no lock_version field"
    return found.group(1)


async def test_upload_opens_the_review_screen_with_highlights(login_as, registry):
    clerk = await login_as(UserRole.SUPERVISOR)
    response = await _upload(clerk)
    assert response.status_code == 303
    page = await clerk.client.get(response.headers["location"])
    assert page.status_code == 200
    html = page.text
    assert "加快农村公路建设" in html and "待处理疑点" in html
    assert '<mark class="hl hl-unit hl-doubt"' in html  # the unknown unit, where it was read
    assert '<mark class="hl hl-deadline"' in html and "2026年底前" in html
    assert "disabled" in html.split('id="publish-form"')[1][:400]


async def test_pasted_text_and_htmx_edit_return_the_workbench(login_as, registry, db):
    clerk = await login_as(UserRole.ADMIN)
    text = SAMPLE.decode()
    response = await clerk.client.post(
        "/policies/drafts", data={"csrf_token": clerk.csrf, "text": text}
    )
    url = response.headers["location"]
    draft_id = int(url.rsplit("/", 1)[1])
    form = {
        "csrf_token": clerk.csrf,
        "lock_version": "1",
        "op": "map_unit",
        "item": f"d{draft_id}-i2",
        "unit": "2",
        "value": "jl-zjt",
    }
    edited = await clerk.client.post(f"{url}/edit", data=form, headers={"HX-Request": "true"})
    assert edited.status_code == 200 and edited.text.lstrip().startswith('<div id="workbench">')
    assert "疑点已全部处理" in edited.text
    with db() as s:
        assert s.get(PolicyDraft, draft_id).lock_version == 2


async def test_a_second_clerk_with_a_stale_page_gets_409(login_as, registry, db):
    first, second = await login_as(UserRole.SUPERVISOR), await login_as(UserRole.SUPERVISOR)
    url = (await _upload(first)).headers["location"]
    draft_id = int(url.rsplit("/", 1)[1])
    stale = _lock((await second.client.get(url)).text)
    base = {"op": "title", "item": f"d{draft_id}-i2", "lock_version": stale}
    ok = await first.client.post(
        f"{url}/edit", data={**base, "csrf_token": first.csrf, "value": "甲"}
    )
    assert ok.status_code == 303
    late = await second.client.post(
        f"{url}/edit", data={**base, "csrf_token": second.csrf, "value": "乙"}
    )
    assert late.status_code == 409 and "请刷新后再改" in late.text
    with db() as s:
        assert s.get(PolicyDraft, draft_id).corrected["items"][1]["title"] == "甲"


@pytest.mark.parametrize(
    ("content", "name", "status", "words"),
    [
        (b"MZ\x90\x00binary", "tool.exe", 422, "不支持的文件类型"),
        (b"", "empty.txt", 422, "文件为空"),
        ("只有一句话，没有任何编号条目。".encode(), "plain.txt", 422, "编号条目"),
        (_scanned_pdf(), "scan.pdf", 422, "没有文字层"),
        (b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n%%EOF\n", "broken.pdf", 422, "已损坏"),
        (b"x" * (5 * 1024 * 1024 + 10), "huge.txt", 413, "文件过大"),
    ],
)
async def test_bad_uploads_get_a_clear_message_and_store_nothing(
    login_as, registry, db, content, name, status, words
):
    clerk = await login_as(UserRole.SUPERVISOR)
    response = await _upload(clerk, content, name)
    assert response.status_code == status, response.text
    assert words in response.text
    with db() as s:
        assert s.scalar(select(func.count(PolicyDraft.id))) == 0


async def test_a_docx_upload_is_read_like_its_text(login_as, registry):
    from tests.policies.shapes import to_docx

    clerk = await login_as(UserRole.SUPERVISOR)
    response = await _upload(clerk, to_docx(SAMPLE.decode()), "fengong.docx")
    assert response.status_code == 303, response.text
    page = await clerk.client.get(response.headers["location"])
    assert "加快农村公路建设" in page.text and "省乡村道路养护中心" in page.text


async def test_staff_may_not_touch_the_workbench(login_as, registry, client, db):
    clerk = await login_as(UserRole.SUPERVISOR)
    url = (await _upload(clerk)).headers["location"]
    staff = await login_as(UserRole.STAFF)
    assert (await staff.client.get("/policies/drafts/new")).status_code == 403
    assert (await staff.client.get(url)).status_code == 403
    assert (await _upload(staff)).status_code == 403
    form = {"csrf_token": staff.csrf, "lock_version": "1"}
    assert (await staff.client.post(f"{url}/publish", data=form)).status_code == 403
    headers = await api_token(client, staff.username)
    api = await client.post("/api/v1/policies/drafts", json={"text": "x"}, headers=headers)
    assert api.status_code == 403
    assert (await staff.client.get("/policies")).status_code == 200  # reading is for everyone


async def test_api_draft_read_patch_and_refusals(login_as, registry, db, client):
    clerk = await login_as(UserRole.SUPERVISOR)
    headers = await api_token(client, clerk.username)
    made = await client.post(
        "/api/v1/policies/drafts", json={"text": SAMPLE.decode()}, headers=headers
    )
    assert made.status_code == 201
    body = made.json()
    assert {"id", "items", "doubts"} <= set(body)
    assert [d["code"] for d in body["doubts"]] == ["unknown_unit"]
    other = await client.post(
        "/api/v1/policies/drafts",
        files={"file": ("b.txt", SAMPLE, "text/plain")},
        headers=headers,
    )
    assert other.status_code == 201, other.text
    url = f"/api/v1/policies/drafts/{body['id']}"
    foreign = other.json()["items"][1]["id"]
    patch = {"lock_version": 1, "edits": [{"op": "title", "item": foreign, "value": "x"}]}
    refused = await client.patch(url, json=patch, headers=headers)
    assert refused.status_code == 422 and "不属于本草稿" in refused.json()["detail"]
    doubt = body["doubts"][0]
    patch = {"lock_version": 1, "edits": [{"op": "accept", "value": doubt["id"]}]}
    accepted = await client.patch(url, json=patch, headers=headers)
    assert accepted.status_code == 200 and accepted.json()["doubts"][0]["accepted"] is True
    stale = await client.patch(url, json=patch, headers=headers)
    assert stale.status_code == 409
    for bad in ({"text": ""}, {"text": "没有编号条目的一句话"}):
        response = await client.post("/api/v1/policies/drafts", json=bad, headers=headers)
        assert response.status_code == 422, response.text
    schema = (await client.get("/openapi.json")).json()
    assert "/api/v1/policies/drafts/{draft_id}/publish" in schema["paths"]
    with db() as s:
        assert s.scalar(select(func.count(Policy.id))) == 0
