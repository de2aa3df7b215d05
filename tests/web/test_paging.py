"""Paged, searchable lists: board, reviews, escalations, users, departments; bad input is 422."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session, sessionmaker

from duban.domain import UserRole
from tests.workspace import make_assignment, make_department, make_policy, make_user

TOO_LONG = "长" * 101


def _many(db: sessionmaker[Session], n: int = 60) -> None:
    """n assignments of one task, each with its own department, and a user in each."""
    with db.begin() as s:
        policy = make_policy(s, items=[{"number": 5, "title": "健全防止返贫动态监测和帮扶机制"}])
        for i in range(n):
            dept = make_department(s, f"d{i:03d}", f"测试单位{i:03d}")
            make_assignment(s, policy=policy, department=dept, periods=0)
            make_user(s, "staff", dept, username=f"staff{i:03d}", display_name=f"承办员{i:03d}")


def _rows(html: str, marker: str) -> int:
    return len(re.findall(marker, html))


async def test_board_pages_and_searches(db, login_as):
    _many(db)
    sup = await login_as(UserRole.SUPERVISOR)
    first = (await sup.client.get("/board")).text
    assert _rows(first, r'<tr class="row-') == 50
    assert "第 1–50 项，共 60 项（第 1 / 2 页）" in first and 'rel="next"' in first
    second = (await sup.client.get("/board?page=2")).text
    assert _rows(second, r'<tr class="row-') == 10 and 'rel="prev"' in second
    small = (await sup.client.get("/board?size=20&page=3")).text
    assert "第 41–60 项" in small
    found = (await sup.client.get("/board?q=测试单位007")).text
    assert _rows(found, r'<tr class="row-') == 1 and "测试单位007" in found
    # Filters stay in the query string of the pager's links.
    narrowed = (await sup.client.get("/board?q=测试单位0&size=5")).text
    assert "page=2" in narrowed and "q=%E6%B5%8B" in narrowed and "size=5" in narrowed


@pytest.mark.parametrize(
    "query",
    ["page=0", "page=abc", "page=10001", "size=1000", "size=0", f"q={TOO_LONG}", "light=blue"],
)
async def test_board_refuses_bad_parameters(db, login_as, query):
    sup = await login_as(UserRole.SUPERVISOR)
    assert (await sup.client.get(f"/board?{query}")).status_code == 422


async def test_queues_page_and_refuse_bad_input(db, login_as):
    sup = await login_as(UserRole.SUPERVISOR)
    for path in ("/reviews", "/escalations"):
        page = await sup.client.get(f"{path}?q=单位&page=1&size=20")
        assert page.status_code == 200 and 'value="单位"' in page.text
        for bad in ("page=-1", "size=101", f"q={TOO_LONG}"):
            assert (await sup.client.get(f"{path}?{bad}")).status_code == 422, (path, bad)


async def test_users_and_departments_page_and_search(db, login_as):
    _many(db)
    admin = await login_as(UserRole.ADMIN)
    users = (await admin.client.get("/admin/users?size=20")).text
    assert _rows(users, r'<td class="mono"') == 20 and 'rel="next"' in users
    one = (await admin.client.get("/admin/users?q=承办员042")).text
    assert _rows(one, r'<td class="mono"') == 1 and "staff042" in one
    by_dept = (await admin.client.get("/admin/users?q=测试单位013")).text
    assert "staff013" in by_dept
    depts = (await admin.client.get("/admin/departments?q=测试单位05")).text
    assert "测试单位059" in depts and "测试单位060" not in depts and "测试单位049" not in depts
    paged = (await admin.client.get("/admin/departments?page=2&size=50")).text
    assert "第 51–" in paged
    for path in ("/admin/users", "/admin/departments"):
        for bad in ("page=0", "size=500", f"q={TOO_LONG}"):
            assert (await admin.client.get(f"{path}?{bad}")).status_code == 422, (path, bad)


async def test_admin_actions_end_with_a_success_note(db, login_as):
    admin = await login_as(UserRole.ADMIN)
    form = {"csrf_token": admin.csrf, "code": "jl-new", "name": "新设单位"}
    created = await admin.client.post("/admin/departments", data=form)
    assert created.status_code == 303
    page = (await admin.client.get(created.headers["location"])).text
    assert "单位已添加。" in page
    again = (await admin.client.get("/admin/departments")).text
    assert "单位已添加。" not in again  # shown once
