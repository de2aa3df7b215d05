"""Supervisor console without workflows: board, queues, escalations, cockpit; who may see them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from duban.db import utcnow
from duban.domain import UserRole
from duban.models import AuditEvent, Escalation, Extension, Submission
from tests.web.browser import add_user, api_token
from tests.workspace import make_assignment, make_department, make_policy

ITEMS = [
    {"number": 5, "title": "保持主要帮扶政策总体稳定", "section": 2},
    {"number": 6, "title": "健全防止返贫动态监测和帮扶机制", "section": 2},
]
PAGES = [
    "/board",
    "/board?view=heat",
    "/reviews",
    "/escalations",
    "/escalations?level=3",
    "/cockpit",
]
APIS = [
    "/api/v1/board",
    "/api/v1/reviews",
    "/api/v1/extensions",
    "/api/v1/escalations",
    "/api/v1/cockpit",
]


@pytest.fixture
def seeded(db):
    """Two departments, two tasks: one overdue at level 3, one due soon, one submitted, one fine."""
    now = utcnow()
    with db.begin() as s:
        policy = make_policy(s, items=ITEMS)
        fpb, czt = make_department(s, "fpb", "省扶贫办"), make_department(s, "czt", "省财政厅")
        late = make_assignment(
            s, policy=policy, department=fpb, due_at=now - timedelta(days=20), escalation_level=3
        )
        soon = make_assignment(
            s, policy=policy, department=czt, role="co", due_at=now + timedelta(days=3)
        )
        sent = make_assignment(
            s, policy=policy, department=fpb, item_number=6, state="submitted", due_at=now
        )
        fine = make_assignment(s, policy=policy, department=czt, item_number=6)
        s.add(Escalation(assignment_id=late.id, period_index=0, level=3, reached_at=now))
        s.add(Submission(key="sub-1", assignment_id=sent.id, period_index=0, report="已完成。"))
        s.add(
            Extension(
                key="ext-1",
                assignment_id=soon.id,
                period_index=0,
                requested_due_at=now + timedelta(days=40),
                reason="资金下达延迟",
            )
        )
        ids = {"late": late.id, "soon": soon.id, "sent": sent.id, "fine": fine.id}
        return {"policy": policy.key, **ids}


async def test_board_sorts_by_lateness_and_counts_lights(login_as, seeded):
    sup = await login_as(UserRole.SUPERVISOR)
    response = await sup.client.get("/api/v1/board")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 4
    assert body["counts"] == {"red": 1, "amber": 1, "green": 2}
    first = body["rows"][0]
    assert first["assignment_id"] == seeded["late"]
    assert first["days_late"] == 20 and first["escalation_level"] == 3
    assert body["rows"][1]["assignment_id"] == seeded["soon"]


async def test_board_filters_narrow_rows_and_keep_light_counts(login_as, seeded):
    sup = await login_as(UserRole.SUPERVISOR)
    red = (await sup.client.get("/api/v1/board", params={"light": "red"})).json()
    assert [r["assignment_id"] for r in red["rows"]] == [seeded["late"]]
    assert red["counts"]["green"] == 2  # counts ignore the light filter
    dept = (await sup.client.get("/api/v1/board", params={"department": "czt"})).json()
    assert {r["assignment_id"] for r in dept["rows"]} == {seeded["soon"], seeded["fine"]}
    task = (await sup.client.get("/api/v1/board", params={"item": 6, "level": 0})).json()
    assert {r["assignment_id"] for r in task["rows"]} == {seeded["sent"], seeded["fine"]}
    bad = await sup.client.get("/api/v1/board", params={"period": "2026Q5"})
    assert bad.status_code == 422 and "period" in bad.json()["detail"]


@pytest.mark.parametrize("view", ["list", "department", "task", "heat"])
async def test_board_page_views_full_and_fragment(login_as, seeded, view):
    sup = await login_as(UserRole.SUPERVISOR)
    mine, theirs = (
        ("department=fpb", "department=czt")
        if view == "heat"
        else (f'href="/assignments/{seeded["late"]}"', f'href="/assignments/{seeded["soon"]}"')
    )
    page = await sup.client.get("/board", params={"view": view})
    assert page.status_code == 200
    assert "逾期督办台" in page.text and "<html" in page.text
    assert mine in page.text and theirs in page.text
    fragment = await sup.client.get(
        "/board", params={"view": view, "department": "fpb"}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["vary"]
    assert mine in fragment.text and theirs not in fragment.text


@pytest.mark.parametrize("view", ["department", "task", "heat"])
async def test_grouped_views_are_paged(login_as, db, view):
    # Seven units on seven tasks: five groups (or heat-map task columns) a page, then two.
    with db.begin() as s:
        items = [{"number": n, "title": f"第{n}项重点任务"} for n in range(1, 8)]
        policy = make_policy(s, items=items)
        for n in range(1, 8):
            unit = make_department(s, f"u{n}", f"分页单位{n}")
            make_assignment(s, policy=policy, department=unit, item_number=n)
    sup = await login_as(UserRole.SUPERVISOR)
    first = await sup.client.get("/board", params={"view": view, "size": 5})
    second = await sup.client.get("/board", params={"view": view, "size": 5, "page": 2})
    assert first.status_code == second.status_code == 200
    assert "共 7 项（第 1 / 2 页）" in first.text and 'rel="next"' in first.text
    assert "共 7 项（第 2 / 2 页）" in second.text and 'rel="prev"' in second.text
    marker = {"department": "<h2>分页单位{}</h2>", "task": "<h2>（{}）", "heat": "item={}&"}[view]
    on_first = {n for n in range(1, 8) if marker.format(n) in first.text}
    on_second = {n for n in range(1, 8) if marker.format(n) in second.text}
    if view == "heat":  # every unit is a row on every page; the task columns are paged
        assert len(on_first) == 5 and len(on_second) == 2 and not on_first & on_second
        assert all(f"分页单位{n}" in second.text for n in range(1, 8))
    else:
        assert len(on_first) == 5 and len(on_second) == 2 and not on_first & on_second


async def test_review_and_extension_queues(login_as, seeded):
    sup = await login_as(UserRole.SUPERVISOR)
    reviews = (await sup.client.get("/api/v1/reviews")).json()
    assert [r["assignment_id"] for r in reviews] == [seeded["sent"]]
    assert reviews[0]["report"] == "已完成。"
    extensions = (await sup.client.get("/api/v1/extensions")).json()
    assert [(x["assignment_id"], x["reason"]) for x in extensions] == [
        (seeded["soon"], "资金下达延迟")
    ]
    page = await sup.client.get("/reviews")
    assert "资金下达延迟" in page.text and "已完成。" in page.text
    fragment = await sup.client.get("/reviews", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "资金下达延迟" in fragment.text


async def test_escalations_by_level(login_as, seeded):
    sup = await login_as(UserRole.SUPERVISOR)
    rows = (await sup.client.get("/api/v1/escalations")).json()
    assert [(r["assignment_id"], r["level"]) for r in rows] == [(seeded["late"], 3)]
    assert set(rows[0]) >= {"assignment_id", "level", "reached_at"}
    assert (await sup.client.get("/api/v1/escalations", params={"level": 1})).json() == []
    leaders = await sup.client.get("/escalations", params={"level": 3})
    assert "领导" in leaders.text and f"/assignments/{seeded['late']}" in leaders.text
    frag = await sup.client.get("/escalations", headers={"HX-Request": "true"})
    assert "<html" not in frag.text and f"/assignments/{seeded['late']}" in frag.text


@pytest.mark.parametrize("role", [UserRole.STAFF, UserRole.HEAD, UserRole.ASSESSOR])
async def test_other_roles_get_403_everywhere(login_as, seeded, role, client):
    other = await login_as(role)
    for path in PAGES + APIS:
        response = await other.client.get(path)
        assert response.status_code == 403, path
    headers = await api_token(client, other.username)
    for path in APIS:
        assert (await client.get(path, headers=headers)).status_code == 403, path
    posts = [
        f"/assignments/{seeded['sent']}/review",
        f"/assignments/{seeded['late']}/urge",
        f"/assignments/{seeded['late']}/due",
        f"/assignments/{seeded['soon']}/extensions/1/decision",
        "/reviews/bulk-approve",
    ]
    for path in posts:
        response = await other.client.post(path, data={"csrf_token": other.csrf})
        assert response.status_code == 403, path
    api_posts = [
        (f"/api/v1/assignments/{seeded['sent']}/review", {"decision": "approve", "rating": 5}),
        (f"/api/v1/assignments/{seeded['late']}/urge", {}),
        (f"/api/v1/assignments/{seeded['late']}/due", {"due_at": "2099-01-01T00:00:00+08:00"}),
        (f"/api/v1/assignments/{seeded['soon']}/extensions/1/decision", {"grant": True}),
        ("/api/v1/reviews/bulk-approve", {"submission_ids": [1], "rating": 5}),
    ]
    for path, body in api_posts:
        assert (await client.post(path, json=body, headers=headers)).status_code == 403, path


async def test_anonymous_is_sent_to_sign_in(client, seeded):
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    for path in APIS:
        assert (await client.get(path)).status_code == 401, path


async def test_supervisor_sees_console_nav(login_as, seeded, db):
    sup = await login_as(UserRole.SUPERVISOR)
    home = await sup.client.get("/")
    for href in ("/board", "/reviews", "/escalations", "/cockpit"):
        assert f'href="{href}"' in home.text
    staff_id, _ = add_user(db, UserRole.STAFF)
    assert staff_id  # a staff account exists without seeing any of it (checked above)


async def test_cockpit_figures_and_drill_down_links(login_as, seeded):
    sup = await login_as(UserRole.SUPERVISOR)
    body = (await sup.client.get("/api/v1/cockpit")).json()
    overall = body["overall"]
    assert (overall["periods"], overall["due"], overall["overdue"]) == (8, 2, 1)
    assert overall["overdue_rate"] == 0.5  # the submitted one awaits review: not overdue
    assert {r["key"] for r in body["by_department"]} == {"fpb", "czt"}
    assert {r["key"] for r in body["by_task"]} == {f"{seeded['policy']}#5", f"{seeded['policy']}#6"}
    page = await sup.client.get("/cockpit")
    assert page.status_code == 200 and page.text.count("<svg") >= 3
    assert 'href="/board?department=fpb"' in page.text
    assert f'href="/board?policy={seeded["policy"]}&amp;item=5"' in page.text
    assert 'href="/board?light=red&amp;department=fpb"' in page.text
    assert body["as_of"] and "数据更新于" in page.text  # the snapshot's time, Beijing time


async def test_due_date_form_refuses_past_and_malformed_days(login_as, seeded, db):
    sup = await login_as(UserRole.SUPERVISOR)
    page = await sup.client.get("/escalations")
    assert f'action="/assignments/{seeded["late"]}/due"' in page.text
    path = f"/assignments/{seeded['late']}/due"
    past = await sup.client.post(path, data={"csrf_token": sup.csrf, "due_date": "2020-01-01"})
    assert past.status_code == 422 and "晚于当前时间" in past.text
    malformed = await sup.client.post(path, data={"csrf_token": sup.csrf, "due_date": "明天"})
    assert malformed.status_code == 422 and "YYYY-MM-DD" in malformed.text
    empty = await sup.client.post(path, data={"csrf_token": sup.csrf})
    assert empty.status_code == 422 and "请填写新的截止时间" in empty.text
    extra = await sup.client.post(path, data={"csrf_token": sup.csrf, "hack": "1"})
    assert extra.status_code == 422
    with db() as s:
        assert s.query(AuditEvent).filter_by(kind="due_moved").count() == 0


def _ladder_kpi(html: str) -> tuple[int, ...]:
    """Return the board's escalation KPI: the total, then levels one to three."""
    found = re.search(
        r'预警升级</span><span class="kpi-value">(\d+)</span><span class="kpi-foot">'
        r"一级 (\d+) · 二级 (\d+) · 三级 (\d+)",
        html,
    )
    assert found, "no ladder KPI"
    return tuple(int(n) for n in found.groups())


async def test_escalation_inbox_lists_each_assignment_once_at_its_level(login_as, seeded, db):
    now = utcnow()
    with db.begin() as s:  # the late one climbed every rung; the soon one only the first
        for level in (1, 2):
            s.add(
                Escalation(
                    assignment_id=seeded["late"], period_index=0, level=level, reached_at=now
                )
            )
        s.add(Escalation(assignment_id=seeded["soon"], period_index=0, level=1, reached_at=now))
    sup = await login_as(UserRole.SUPERVISOR)
    rows = (await sup.client.get("/api/v1/escalations")).json()
    assert [(r["assignment_id"], r["level"]) for r in rows] == [
        (seeded["late"], 3),
        (seeded["soon"], 1),
    ]
    level_one = (await sup.client.get("/api/v1/escalations", params={"level": 1})).json()
    assert [r["assignment_id"] for r in level_one] == [seeded["soon"]]
    page = (await sup.client.get("/escalations")).text
    assert page.count(f'href="/assignments/{seeded["late"]}"') == 1
    assert _ladder_kpi((await sup.client.get("/board")).text) == (2, 1, 0, 1)
    # The board's ladder counts what its filters show.
    fpb = (await sup.client.get("/board", params={"department": "fpb"})).text
    assert _ladder_kpi(fpb) == (1, 0, 0, 1)
