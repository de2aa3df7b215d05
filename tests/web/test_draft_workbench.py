"""The workbench over HTTP on both databases: a cadence per task, the department search, split parts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from duban.domain import UserRole
from duban.models import PolicyDraft
from tests.db import BACKENDS
from tests.web.browser import api_token
from tests.web.drafting import article, upload_draft

SAMPLE = (Path(__file__).parent / "data" / "renwu-fengong.txt").read_bytes()
HTMX = {"HX-Request": "true"}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Drafts and departments are rows: check the workbench on both databases."""
    return str(request.param)


async def _draft(clerk) -> tuple[str, int]:
    return await upload_draft(clerk, SAMPLE, "fengong.txt")


async def test_a_task_gets_its_own_cadence_from_the_review_screen(login_as, registry, db):
    clerk = await login_as(UserRole.SUPERVISOR)
    url, draft_id = await _draft(clerk)
    road = f"d{draft_id}-i2"
    page = (await clerk.client.get(url)).text
    assert "随文件默认：按季度" in article(page, road)
    assert 'aria-label="条目报送周期"' not in article(page, f"d{draft_id}-i1")  # not a task
    form = {"csrf_token": clerk.csrf, "lock_version": "1", "op": "cadence", "item": road}
    done = await clerk.client.post(f"{url}/edit", data={**form, "value": "monthly"}, headers=HTMX)
    assert done.status_code == 200
    assert '<option value="monthly" selected>' in article(done.text, road)
    assert "另有 1 项任务单独设定" in done.text and "报送周期设为按月" in done.text
    bad = await clerk.client.post(f"{url}/edit", data={**form, "lock_version": "2", "value": "x"})
    assert bad.status_code == 422 and "报送周期只能是" in bad.text
    with db() as s:
        assert s.get(PolicyDraft, draft_id).corrected["items"][1]["cadence"] == "monthly"


async def test_the_api_reads_and_patches_a_tasks_cadence(login_as, registry, client):
    clerk = await login_as(UserRole.SUPERVISOR)
    headers = await api_token(client, clerk.username)
    made = await client.post(
        "/api/v1/policies/drafts", json={"text": SAMPLE.decode()}, headers=headers
    )
    body = made.json()
    assert [i["cadence"] for i in body["items"]] == [None, None, None]
    road = body["items"][1]["id"]
    edits = [
        {"op": "cadence", "item": road, "value": "one-off"},
        {"op": "cadence", "value": "monthly"},
    ]
    patched = await client.patch(
        f"/api/v1/policies/drafts/{body['id']}",
        json={"lock_version": 1, "edits": edits},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text
    read = patched.json()
    assert (read["cadence"], read["items"][1]["cadence"], read["items"][2]["cadence"]) == (
        "monthly",
        "one-off",
        None,
    )


async def test_department_search_as_one_types_and_without_javascript(login_as, registry, db):
    clerk = await login_as(UserRole.SUPERVISOR)
    url, draft_id = await _draft(clerk)
    road = f"d{draft_id}-i2"
    page = (await clerk.client.get(url)).text
    assert "<datalist" not in page and 'list="dept-list"' not in page
    assert f'hx-get="/policies/drafts/{draft_id}/departments"' in page
    query = {"item": road, "unit": "2", "lock_version": "1", "q": "住建廳"}
    partial = await clerk.client.get(f"{url}/departments", params=query, headers=HTMX)
    assert partial.status_code == 200
    html = partial.text.strip()
    assert html.startswith(f'<div class="dept-results" id="dept-results-{road}-u2"')
    assert "对应为 省住建厅" in html and 'hx-target="#workbench"' in html
    assert 'name="lock_version" value="1"' in html  # the page's lock, not a fresher one
    full = await clerk.client.get(f"{url}/departments", params={**query, "q": "乡村振兴"})
    assert "<html" in full.text and "hx-post" not in full.text.split("dept-matches", 1)[1]
    assert "对应为 省扶贫办" in full.text and "别名：省乡村振兴局" in full.text
    found = re.search(r'name="value" value="(jl-[a-z]+)"', full.text)
    assert found is not None
    code = found.group(1)
    form = {
        "csrf_token": clerk.csrf,
        "lock_version": "1",
        "op": "map_unit",
        "item": road,
        "unit": "2",
        "value": code,
    }
    mapped = await clerk.client.post(f"{url}/edit", data=form)
    assert mapped.status_code == 303 and mapped.headers["location"].endswith(f"#{road}")
    with db() as s:
        unit = s.get(PolicyDraft, draft_id).corrected["items"][1]["units"][2]
        assert (unit["name"], unit["known"]) == ("省扶贫办", True)
    none = await clerk.client.get(f"{url}/departments", params={**query, "q": "无此部门"})
    assert "没有找到与“无此部门”相符的部门" in none.text


@pytest.mark.parametrize(
    "params",
    [
        {"item": "d1-i2", "unit": "-1", "lock_version": "1"},
        {"unit": "0", "lock_version": "1"},
        {"item": "nonsense", "unit": "0", "lock_version": "1"},
        {"item": "d1-i2", "unit": "0", "lock_version": "1", "q": "长" * 101},
    ],
)
async def test_a_bad_search_is_a_clear_4xx(login_as, registry, params):
    clerk = await login_as(UserRole.SUPERVISOR)
    url, _ = await _draft(clerk)
    response = await clerk.client.get(f"{url}/departments", params=params)
    assert response.status_code == 422, response.text


async def test_staff_may_not_search_from_a_draft_but_the_api_search_is_for_everyone(
    login_as, registry, client
):
    clerk = await login_as(UserRole.SUPERVISOR)
    url, draft_id = await _draft(clerk)
    staff = await login_as(UserRole.STAFF)
    query = {"item": f"d{draft_id}-i2", "unit": "0", "lock_version": "1", "q": "财政"}
    assert (await staff.client.get(f"{url}/departments", params=query)).status_code == 403
    headers = await api_token(client, staff.username)
    found = await client.get("/api/v1/departments", params={"q": "省財政"}, headers=headers)
    assert found.status_code == 200 and found.json()[0] == {"code": "jl-czt", "name": "省财政厅"}
    empty = await client.get("/api/v1/departments", params={"q": "无此部门"}, headers=headers)
    assert empty.json() == []
    every = await client.get("/api/v1/departments", headers=headers)
    assert len(every.json()) > 20  # without `q`, the whole list as before
    long = await client.get("/api/v1/departments", params={"q": "长" * 101}, headers=headers)
    assert long.status_code == 422


async def test_a_split_part_is_shown_right_after_its_source(login_as, registry):
    clerk = await login_as(UserRole.SUPERVISOR)
    url, draft_id = await _draft(clerk)
    form = {
        "csrf_token": clerk.csrf,
        "lock_version": "1",
        "op": "split",
        "item": f"d{draft_id}-i2",
        "value": "2026年底前完成",
    }
    done = await clerk.client.post(f"{url}/edit", data=form, headers=HTMX)
    labels = re.findall(r'<span class="doc-label">([^<]+)</span>', done.text)
    assert labels == ["（一）", "（二）", "（二之一）", "（三）"]
