"""Admin pages and API: users and departments created, edited, deactivated; others refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from duban.domain import UserRole
from duban.models import Department, User
from tests.web.browser import PASSWORD, add_department, add_user, api_token, new_client, sign_in


def user_named(db, username: str) -> User | None:
    with db.begin() as s:
        user: User | None = s.scalar(select(User).where(User.username == username))
        return user


async def test_admin_creates_user_through_the_page(login_as, db, app):
    admin = await login_as(UserRole.ADMIN)
    code = add_department(db, "jl-new", "省新建厅")
    form = {
        "csrf_token": admin.csrf,
        "username": "clerk1",
        "password": "clerk-pass-1",
        "role": "staff",
        "department": code,
        "display_name": "张三",
        "email": "",
    }
    response = await admin.client.post("/admin/users", data=form)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/users"
    listing = await admin.client.get("/admin/users")
    assert "clerk1" in listing.text and "张三" in listing.text and "省新建厅" in listing.text
    async with new_client(app) as c:
        assert (await sign_in(c, "clerk1", "clerk-pass-1")).status_code == 303


async def test_invalid_user_form_rerenders_with_422(login_as, db):
    admin = await login_as(UserRole.ADMIN)
    form = {
        "csrf_token": admin.csrf,
        "username": "nodept",
        "password": "long-enough-1",
        "role": "staff",
    }
    page = await admin.client.post("/admin/users", data=form)
    assert page.status_code == 422
    assert "必须属于一个部门" in page.text and "<html" in page.text
    fragment = await admin.client.post("/admin/users", data=form, headers={"HX-Request": "true"})
    assert fragment.status_code == 422
    assert "必须属于一个部门" in fragment.text and "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["vary"]
    assert user_named(db, "nodept") is None


async def test_admin_edits_and_deactivates_user(login_as, db, app):
    admin = await login_as(UserRole.ADMIN)
    user_id, username = add_user(db, UserRole.STAFF)
    edit = await admin.client.get(f"/admin/users/{user_id}")
    assert edit.status_code == 200 and username in edit.text
    form = {
        "csrf_token": admin.csrf,
        "username": username,
        "role": "supervisor",
        "display_name": "李四",
    }
    assert (await admin.client.post(f"/admin/users/{user_id}", data=form)).status_code == 303
    saved = user_named(db, username)
    assert saved is not None
    assert (saved.role, saved.display_name, saved.department_id) == ("supervisor", "李四", None)
    table = await admin.client.post(
        f"/admin/users/{user_id}/active",
        data={"active": "0"},
        headers={"HX-Request": "true", "x-csrftoken": admin.csrf},
    )
    assert table.status_code == 200
    assert 'id="user-table"' in table.text and "已停用" in table.text and "<html" not in table.text
    assert user_named(db, username).is_active is False  # type: ignore[union-attr]
    async with new_client(app) as c:
        assert (await sign_in(c, username)).status_code == 401


async def test_deactivated_user_loses_running_session(login_as, db):
    admin = await login_as(UserRole.ADMIN)
    staff = await login_as(UserRole.STAFF)
    assert (await staff.client.get("/")).status_code == 200
    form = {"csrf_token": admin.csrf, "active": "0"}
    assert (
        await admin.client.post(f"/admin/users/{staff.user_id}/active", data=form)
    ).status_code == 303
    assert (await staff.client.get("/")).status_code == 303


async def test_admin_cannot_deactivate_self(login_as):
    admin = await login_as(UserRole.ADMIN)
    form = {"csrf_token": admin.csrf, "active": "0"}
    response = await admin.client.post(f"/admin/users/{admin.user_id}/active", data=form)
    assert response.status_code == 409
    assert (await admin.client.get("/admin/users")).status_code == 200


async def test_admin_manages_departments_through_pages(login_as, db):
    admin = await login_as(UserRole.ADMIN)
    created = await admin.client.post(
        "/admin/departments",
        data={"csrf_token": admin.csrf, "code": "jl-abc", "name": "省甲乙丙厅"},
    )
    assert created.status_code == 303
    listing = await admin.client.get("/admin/departments")
    assert "jl-abc" in listing.text and "省甲乙丙厅" in listing.text
    duplicate = await admin.client.post(
        "/admin/departments", data={"csrf_token": admin.csrf, "code": "jl-abc", "name": "别的名字"}
    )
    assert duplicate.status_code == 422 and "部门代码已存在" in duplicate.text
    renamed = await admin.client.post(
        "/admin/departments/jl-abc", data={"csrf_token": admin.csrf, "name": "省丙丁厅"}
    )
    assert renamed.status_code == 303
    with db.begin() as s:
        names = list(s.scalars(select(Department.name).where(Department.code == "jl-abc")))
    assert names == ["省丙丁厅"]


async def test_admin_api_users_and_departments(client, db):
    _, admin = add_user(db, UserRole.ADMIN)
    headers = await api_token(client, admin)
    dept = await client.post(
        "/api/v1/departments", json={"code": "jl-api", "name": "省接口厅"}, headers=headers
    )
    assert dept.status_code == 201 and dept.json() == {"code": "jl-api", "name": "省接口厅"}
    body = {
        "username": "api-head",
        "password": "api-pass-12",
        "role": "head",
        "department": "jl-api",
    }
    created = await client.post("/api/v1/users", json=body, headers=headers)
    assert created.status_code == 201
    user = created.json()
    assert (
        user["department"] == {"code": "jl-api", "name": "省接口厅"} and user["is_active"] is True
    )
    assert "password_hash" not in user
    again = await client.post("/api/v1/users", json=body, headers=headers)
    assert again.status_code == 409 and "用户名已存在" in again.json()["detail"]
    patched = await client.patch(
        f"/api/v1/users/{user['id']}", json={"is_active": False}, headers=headers
    )
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    renamed = await client.patch(
        "/api/v1/departments/jl-api", json={"name": "省接口局"}, headers=headers
    )
    assert renamed.json()["name"] == "省接口局"
    listed = await client.get("/api/v1/departments", headers=headers)
    assert {"code": "jl-api", "name": "省接口局"} in listed.json()


async def test_api_validation_errors_are_a_detail_string(client, db):
    _, admin = add_user(db, UserRole.ADMIN)
    headers = await api_token(client, admin)
    response = await client.post(
        "/api/v1/users", json={"username": "x", "role": "king"}, headers=headers
    )
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str) and "不符合要求" in response.json()["detail"]
    missing = await client.get("/api/v1/users/99999", headers=headers)
    assert missing.status_code == 404 and missing.json() == {"detail": "用户不存在"}


@pytest.mark.parametrize(
    "role", [UserRole.STAFF, UserRole.HEAD, UserRole.SUPERVISOR, UserRole.ASSESSOR]
)
async def test_non_admins_are_forbidden(role, login_as, client, db):
    signed = await login_as(role)
    assert (await signed.client.get("/admin/users")).status_code == 403
    assert (await signed.client.get("/admin/departments")).status_code == 403
    page = await signed.client.get("/admin/users", headers={"Accept": "text/html"})
    assert page.status_code == 403 and "您没有权限" in page.text
    headers = await api_token(client, signed.username, PASSWORD)
    body = {"username": "sneaky", "password": "sneaky-pass-1", "role": "admin"}
    refused = await client.post("/api/v1/users", json=body, headers=headers)
    assert refused.status_code == 403 and refused.json() == {"detail": "您没有权限执行此操作"}
    assert (await client.get("/api/v1/users", headers=headers)).status_code == 403
    assert (await client.get("/api/v1/departments", headers=headers)).status_code == 200
    assert user_named(db, "sneaky") is None


async def test_admin_changing_own_password_stays_signed_in(login_as, app):
    admin = await login_as(UserRole.ADMIN)
    form = {
        "csrf_token": admin.csrf,
        "username": admin.username,
        "role": "admin",
        "password": "brand-new-pw1",
    }
    assert (await admin.client.post(f"/admin/users/{admin.user_id}", data=form)).status_code == 303
    assert (await admin.client.get("/admin/users")).status_code == 200
    async with new_client(app) as c:
        assert (await sign_in(c, admin.username, "brand-new-pw1")).status_code == 303
