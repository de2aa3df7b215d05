"""The app as a whole: OpenAPI, locale switching, layout by role, static files, Temporal down."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

import web
from duban.domain import UserRole
from duban.settings import Settings
from tests.web.browser import new_client
from web.app import ROUTER_MODULES, create_app, load_routers
from web.deps import TemporalDep


async def test_openapi_lists_the_api_routes(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/auth/token",
        "/api/v1/users",
        "/api/v1/users/{user_id}",
        "/api/v1/departments",
    ):
        assert path in paths
    assert "post" in paths["/api/v1/users"] and "get" in paths["/api/v1/departments"]
    assert not any(p.startswith("/admin") or p == "/login" for p in paths)


async def test_login_page_is_simplified_by_default(client):
    page = await client.get("/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and "用户名" in page.text
    assert "/static/htmx.min.js" in page.text and "x-csrftoken" in page.text


async def test_accept_language_selects_traditional(client):
    page = await client.get("/login", headers={"Accept-Language": "zh-HK,zh;q=0.8,en;q=0.5"})
    assert '<html lang="zh-TW">' in page.text
    assert "用戶名" in page.text and "登錄" in page.text


async def test_lang_switch_is_remembered_in_the_session(client):
    switched = await client.get("/login?lang=zh-TW")
    assert '<html lang="zh-TW">' in switched.text
    later = await client.get("/login", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-TW">' in later.text


async def test_saved_preference_wins_and_converts_names(login_as, db):
    from tests.web.browser import add_department

    code = add_department(db, "jl-fpb-t", "省扶贫办测试")
    staff = await login_as(UserRole.STAFF, code)
    form = {"csrf_token": staff.csrf, "lang": "zh-TW", "next": "/"}
    response = await staff.client.post("/locale", data=form)
    assert response.status_code == 303 and response.headers["location"] == "/"
    home = await staff.client.get("/", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-TW">' in home.text
    assert "省扶貧辦測試" in home.text and "承辦人" in home.text
    me = await staff.client.get("/api/v1/auth/me")
    assert me.json()["locale"] == "zh-TW"


async def test_nav_follows_the_role(login_as):
    admin = await login_as(UserRole.ADMIN)
    staff = await login_as(UserRole.STAFF)
    admin_home = (await admin.client.get("/")).text
    staff_home = (await staff.client.get("/")).text
    assert 'href="/admin/users"' in admin_home and 'href="/admin/departments"' in admin_home
    assert 'href="/admin/users"' not in staff_home
    assert "任务概况" in staff_home and "已逾期" in staff_home


async def test_static_htmx_is_vendored(client):
    response = await client.get("/static/htmx.min.js")
    assert response.status_code == 200 and "htmx.org@2" in response.text[:200]


async def test_unknown_page_is_a_chinese_404(client):
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json() == {"detail": "页面不存在"}


async def test_first_admin_comes_from_the_setting(tmp_path, db_url):
    settings = Settings(
        data_dir=tmp_path, database_url=db_url, secret_key="k", admin_password="first-admin-pw"
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app), new_client(app) as c:
        token = await c.post(
            "/api/v1/auth/token", json={"username": "admin", "password": "first-admin-pw"}
        )
        assert token.status_code == 200


async def test_temporal_down_is_a_503_with_a_chinese_detail(tmp_path, db_url):
    settings = Settings(
        data_dir=tmp_path, database_url=db_url, secret_key="k", temporal_address="127.0.0.1:1"
    )
    app: FastAPI = create_app(settings)

    @app.get("/api/v1/probe-temporal")
    async def probe(client: TemporalDep) -> dict[str, str]:
        return {"namespace": client.namespace}

    async with app.router.lifespan_context(app), new_client(app) as c:
        response = await c.get("/api/v1/probe-temporal")
    assert response.status_code == 503
    assert response.json() == {"detail": "工作流服务暂时不可用，请稍后重试"}


def test_every_listed_router_module_loads():
    routers = load_routers()
    assert len(routers) == len(ROUTER_MODULES)
    assert all(r.routes for r in routers)


def test_every_router_module_is_listed_or_included():
    web_dir = Path(web.__file__).parent
    on_disk = {
        f"web.{area}.{p.stem}"
        for area in ("api", "pages")
        for p in (web_dir / area).glob("*.py")
        if p.stem != "__init__"
    }
    included_by_a_listed_router = {"web.pages.calendar"}
    assert on_disk - included_by_a_listed_router == set(ROUTER_MODULES)


def test_a_misspelt_router_module_fails_at_start_up():
    with pytest.raises(ModuleNotFoundError):
        load_routers(("web.api.asignments",))
