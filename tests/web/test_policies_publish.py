"""Publishing (交办) through real Temporal: once only, workflows started, departments told; the read side after."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from duban.domain import UserRole
from duban.models import Assignment, AuditEvent, Notification, Policy
from duban.services.notice_text import views
from tests.db import BACKENDS
from tests.web.browser import add_user, api_token, new_client, sign_in
from tests.web.workspace_temporal import eventually, live_app, workspace_temporal

__all__ = ["live_app", "workspace_temporal"]
SAMPLE = (Path(__file__).parent / "data" / "renwu-fengong.txt").read_bytes()


@pytest.fixture
def app(live_app):
    """The app wired to the dev server and a worker."""
    return live_app


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Publishing writes versions, assignments and notifications: check it on both databases."""
    return str(request.param)


def _unique(name: str) -> str:
    """Return a file name, hence a policy key, no other test of the session uses.

    The dev server is shared by the whole session and workflow ids come from policy keys: the
    same document published by the SQLite and the PostgreSQL run would find the other's
    workflows running and start nothing.
    """
    return f"{uuid.uuid4().hex[:8]}-{name}"


def _lock(html: str) -> str:
    found = re.search(r'name="lock_version" value="(\d+)"', html)
    assert found is not None, "no lock_version field"
    return found.group(1)


async def _opened(db, policy_id: int) -> bool:
    with db() as s:
        ids = set(s.scalars(select(Assignment.id).where(Assignment.policy_id == policy_id)))
        opened = set(
            s.scalars(select(AuditEvent.assignment_id).where(AuditEvent.kind == "period_opened"))
        )
    return bool(ids) and ids <= opened


async def _period_labels(db, policy_id: int) -> dict[int, list[str]]:
    """Return the labels of the planned periods of each task, once every assignment has some."""
    with db() as s:
        rows = s.scalars(select(Assignment).where(Assignment.policy_id == policy_id)).all()
        if not rows or not all(a.periods for a in rows):
            return {}
        return {a.item_number: [p.label for p in a.periods] for a in rows}


async def test_page_publish_starts_workflows_once_and_tells_departments(
    app, login_as, registry, db
):
    add_user(db, UserRole.STAFF, department="jl-jtt", username="jtt-staff")
    clerk = await login_as(UserRole.SUPERVISOR)
    upload = await clerk.client.post(
        "/policies/drafts",
        files={"file": (_unique("fengong.txt"), SAMPLE, "text/plain")},
        data={"csrf_token": clerk.csrf},
    )
    url = upload.headers["location"]
    draft_id = int(url.rsplit("/", 1)[1])
    base = {"csrf_token": clerk.csrf, "item": f"d{draft_id}-i2"}
    fixes = [
        {"op": "map_unit", "unit": "2", "value": "jl-czt"},  # the unknown unit was a typo
        {"op": "deadline", "index": "0", "value": "2026-09-30", "text": "2026年9月底前"},
    ]
    for fix in fixes:
        lock = _lock((await clerk.client.get(url)).text)
        response = await clerk.client.post(
            f"{url}/edit", data={**base, **fix, "lock_version": lock}
        )
        assert response.status_code == 303, response.text
    lock = _lock((await clerk.client.get(url)).text)
    published = await clerk.client.post(
        f"{url}/publish", data={"csrf_token": clerk.csrf, "lock_version": lock}
    )
    assert published.status_code == 303, published.text
    page_url = published.headers["location"]
    found = re.search(r"/policies/(\d+)", page_url)
    assert found is not None, page_url
    policy_id = int(found.group(1))
    page = await clerk.client.get(page_url)
    assert 'id="start-progress"' in page.text
    await eventually(lambda: _opened(db, policy_id))
    done = await clerk.client.get(f"/policies/{policy_id}/progress", headers={"HX-Request": "true"})
    assert done.status_code == 286 and "交办完成" in done.text
    with db() as s:
        rows = s.execute(
            select(Assignment.item_number, Assignment.department_id).where(
                Assignment.policy_id == policy_id
            )
        ).all()
        assert len(rows) == 3  # 省交通厅 + 省财政厅 (the typo merged into it) + 省扶贫办
        notes = s.scalars(select(Notification).where(Notification.code == "new_assignment")).all()
        assert notes and all(n.title == "" for n in notes)  # rendered for the reader
        assert any("加快农村公路建设" in n.title for n in views(s, notes))
    again = await clerk.client.post(
        f"{url}/publish", data={"csrf_token": clerk.csrf, "lock_version": lock}
    )
    assert again.status_code == 409 and "不能重复交办" in again.text
    edit = await clerk.client.post(
        f"{url}/edit", data={**base, "op": "title", "value": "改", "lock_version": lock}
    )
    assert edit.status_code == 409
    with db() as s:
        assert s.scalar(select(func.count(Policy.id))) == 1
        assert s.scalar(select(func.count(Assignment.id))) == 3


async def test_api_publish_once_then_read_the_policy(app, login_as, registry, db):
    add_user(db, UserRole.SUPERVISOR, username="api-clerk")
    client = new_client(app)
    headers = await api_token(client, "api-clerk")
    made = (
        await client.post(
            "/api/v1/policies/drafts",
            json={"text": SAMPLE.decode(), "name": _unique("api.txt")},
            headers=headers,
        )
    ).json()
    url = f"/api/v1/policies/drafts/{made['id']}"
    blocked = await client.post(f"{url}/publish", json={}, headers=headers)
    assert blocked.status_code == 409 and "疑点" in blocked.json()["detail"]
    road_id = made["items"][1]["id"]
    edits = [
        {"op": "accept", "value": made["doubts"][0]["id"]},
        {"op": "cadence", "item": road_id, "value": "monthly"},  # the rest stay quarterly
    ]
    accept = {"lock_version": 1, "edits": edits}
    assert (await client.patch(url, json=accept, headers=headers)).status_code == 200
    first = await client.post(f"{url}/publish", json={"lock_version": 2}, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["version"] == 1 and body["started"] == 2
    second = await client.post(f"{url}/publish", json={}, headers=headers)
    assert second.status_code == 409
    await eventually(lambda: _opened(db, body["policy_id"]))
    await eventually(lambda: _period_labels(db, body["policy_id"]))
    labels = await _period_labels(db, body["policy_id"])
    assert all(re.fullmatch(r"\d{4}年\d{1,2}月", x) for x in labels[2] if "前" not in x)
    assert all("季度" in x for x in labels[3] if "前" not in x) and labels[3]
    listed = (await client.get("/api/v1/policies", headers=headers)).json()
    assert [(p["id"], p["tasks"], p["assignments"]) for p in listed] == [(body["policy_id"], 2, 4)]
    assert listed[0]["issuer"] == "吉林省人民政府办公厅"
    detail = (await client.get(f"/api/v1/policies/{body['policy_id']}", headers=headers)).json()
    road = next(i for i in detail["items"] if i["title"] == "加快农村公路建设")
    assert [i["cadence"] for i in detail["items"]] == [None, "monthly", "quarterly"]
    assert {a["department"]["name"] for a in road["assignments"]} >= {"省交通厅", "省财政厅"}
    assert all(a["light"] in ("red", "amber", "green") for a in road["assignments"])
    _, staff_name = add_user(db, UserRole.STAFF, department="jl-fpb")
    staff = new_client(app)
    await sign_in(staff, staff_name)
    page = await staff.get(f"/policies/{body['policy_id']}?script=zh-TW")
    assert page.status_code == 200 and "加快農村公路建設" in page.text
    listing = await staff.get("/policies")
    assert "吉林省人民政府办公厅" in listing.text and "上传政策文件" not in listing.text
    await client.aclose()
    await staff.aclose()


async def test_an_amendment_is_published_through_the_revision_path(app, registry, db):
    add_user(db, UserRole.SUPERVISOR, username="amender")
    fpb_user, _ = add_user(db, UserRole.STAFF, department="jl-fpb")
    client = new_client(app)
    headers = await api_token(client, "amender")

    async def publish(payload: dict[str, Any]) -> dict[str, Any]:
        made = (await client.post("/api/v1/policies/drafts", json=payload, headers=headers)).json()
        url = f"/api/v1/policies/drafts/{made['id']}"
        edits = [{"op": "accept", "value": d["id"]} for d in made["doubts"]]
        if edits:
            patch = {"lock_version": made["lock_version"], "edits": edits}
            assert (await client.patch(url, json=patch, headers=headers)).status_code == 200
        done = await client.post(f"{url}/publish", json={}, headers=headers)
        assert done.status_code == 200, done.text
        published: dict[str, Any] = done.json()
        return published

    first = await publish({"text": SAMPLE.decode(), "name": _unique("amend-me.txt")})
    await eventually(lambda: _opened(db, first["policy_id"]))
    changed = SAMPLE.decode().replace("（省扶贫办负责）", "（省民政厅负责）")
    second = await publish({"text": changed, "policy_id": first["policy_id"]})
    assert (second["policy_id"], second["version"]) == (first["policy_id"], 2)
    assert second["signalled"] >= 1

    async def withdrawn_and_started() -> bool:
        with db() as s:
            told = s.scalar(
                select(func.count(Notification.id)).where(
                    Notification.user_id == fpb_user, Notification.kind == "withdrawn"
                )
            )
        return bool(told) and await _opened(db, first["policy_id"])

    await eventually(withdrawn_and_started, within=60)
    detail = (await client.get(f"/api/v1/policies/{first['policy_id']}", headers=headers)).json()
    item = next(i for i in detail["items"] if i["title"] == "健全防止返贫监测帮扶机制")
    assert [a["department"]["name"] for a in item["assignments"]] == ["省民政厅"]
    await client.aclose()
