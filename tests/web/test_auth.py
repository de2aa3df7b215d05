"""Sign-in, sign-out, tokens, throttling, CSRF and anonymous access, through the real app."""

from __future__ import annotations

from sqlalchemy import select

from duban.domain import UserRole
from duban.models import User
from tests.web.browser import PASSWORD, add_user, api_token, code_for, csrf_of, new_client, sign_in
from web.app import create_app


async def test_sign_in_and_out(client, db):
    _, username = add_user(db, UserRole.SUPERVISOR)
    response = await sign_in(client, username)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = await client.get("/")
    assert home.status_code == 200
    assert "督查室" in home.text and 'action="/logout"' in home.text
    out = await client.post("/logout", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303
    again = await client.get("/")
    assert again.status_code == 303
    assert again.headers["location"].startswith("/login")


async def test_sign_in_returns_to_next_page_but_never_off_site(client, db):
    _, username = add_user(db, UserRole.ADMIN)
    page = await client.get("/login?next=/admin/users")
    form = {"csrf_token": csrf_of(page.text), "username": username, "password": PASSWORD}
    response = await client.post("/login", data={**form, "next": "//evil.example/x"})
    assert response.headers["location"] == "/login/2fa?next=/"  # an admin shows a code next
    step = {"csrf_token": form["csrf_token"], "code": code_for(username), "next": "//evil.example"}
    assert (await client.post("/login/2fa", data=step)).headers["location"] == "/"


async def test_bad_password_reshows_form(client, db):
    _, username = add_user(db, UserRole.STAFF)
    response = await sign_in(client, username, "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert (await client.get("/")).status_code == 303


async def test_inactive_user_cannot_sign_in(client, db):
    user_id, username = add_user(db, UserRole.STAFF)
    with db.begin() as s:
        s.get(User, user_id).is_active = False
    assert (await sign_in(client, username)).status_code == 401
    token = await client.post(
        "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
    )
    assert token.status_code == 401


async def test_throttle_after_repeated_failures(client, db):
    _, username = add_user(db, UserRole.STAFF)
    for _ in range(5):
        assert (await sign_in(client, username, "nope-nope")).status_code == 401
    blocked = await sign_in(client, username)
    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.text
    api = await client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert api.status_code == 429
    assert "登录失败次数过多" in api.json()["detail"]


async def test_throttle_holds_across_replicas_and_restarts(client, db, settings):
    # API failures count although their request's transaction is rolled back with the 401.
    _, username = add_user(db, UserRole.STAFF)
    wrong = {"username": username, "password": "nope-nope"}
    for _ in range(5):
        assert (await client.post("/api/v1/auth/token", json=wrong)).status_code == 401
    replica = create_app(settings)  # another web process on the same database
    async with replica.router.lifespan_context(replica), new_client(replica) as other:
        blocked = await sign_in(other, username)
        assert blocked.status_code == 429 and "登录失败次数过多" in blocked.text


async def test_token_grants_api_access_and_password_change_revokes_it(client, db):
    user_id, username = add_user(db, UserRole.STAFF)
    headers = await api_token(client, username)
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["username"] == username and me.json()["role"] == "staff"
    with db.begin() as s:
        from duban.services.user import UserChanges, update_user

        update_user(
            session=s,
            user_id=user_id,
            changes=UserChanges(password="another-pass-2"),
            acting_user_id=0,
        )
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_forged_token_is_refused(client):
    response = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer forged.token"})
    assert response.status_code == 401
    assert response.json()["detail"]


async def test_anonymous_api_gets_401_json_and_pages_redirect(client):
    api = await client.get("/api/v1/departments")
    assert api.status_code == 401
    assert api.json() == {"detail": "请先登录"}
    assert api.headers["www-authenticate"] == "Bearer"
    page = await client.get("/admin/users")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/admin/users"
    htmx = await client.get("/admin/users", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["hx-redirect"] == "/login?next=/admin/users"


async def test_csrf_missing_or_forged_is_refused_and_changes_nothing(login_as, db):
    admin = await login_as(UserRole.ADMIN)
    form = {"code": "jl-csrf", "name": "省测试厅"}
    missing = await admin.client.post("/admin/departments", data=form)
    forged = await admin.client.post("/admin/departments", data={**form, "csrf_token": "forged"})
    header = await admin.client.post(
        "/api/v1/departments",
        json={"code": "jl-csrf", "name": "省测试厅"},
        headers={"x-csrftoken": "x"},
    )
    assert [r.status_code for r in (missing, forged, header)] == [403, 403, 403]
    assert "刷新页面" in missing.json()["detail"]
    with db.begin() as s:
        from duban.models import Department

        assert s.scalar(select(Department).where(Department.code == "jl-csrf")) is None


async def test_csrf_header_is_accepted_for_htmx(login_as, db):
    admin = await login_as(UserRole.ADMIN)
    response = await admin.client.post(
        "/admin/departments",
        data={"code": "jl-htmx", "name": "省htmx厅"},
        headers={"HX-Request": "true", "x-csrftoken": admin.csrf},
    )
    assert response.status_code == 204
    assert response.headers["hx-location"] == "/admin/departments"


async def test_login_form_without_csrf_is_refused(client, db):
    _, username = add_user(db, UserRole.STAFF)
    response = await client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 403
    assert (await client.get("/")).status_code == 303
