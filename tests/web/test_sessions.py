"""Server-side sessions, the cookie, forced and own password changes, on both databases."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from duban.domain import UserRole
from duban.models import AuditEvent, User
from duban.services.ical import ensure_ical_token
from duban.services.user import UserChanges, ensure_admin, update_user
from tests.db import BACKENDS
from tests.web.browser import PASSWORD, add_user, api_token, csrf_of, new_client, sign_in
from web.app import create_app

NEW_PASSWORD = "plum-blossom-77"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Sessions live in the database: both of them."""
    return str(request.param)


def replay(app, cookie: str):
    """Return a new client that presents an old session cookie."""
    c = new_client(app)
    c.cookies.set("duban_session", cookie)
    return c


async def signed_in_cookie(app, username: str, password: str = PASSWORD):
    c = new_client(app)
    assert (await sign_in(c, username, password)).status_code == 303
    return c, c.cookies["duban_session"]


async def test_logout_ends_the_session_for_a_copied_cookie(app, db):
    _, username = add_user(db, UserRole.SUPERVISOR)
    c, cookie = await signed_in_cookie(app, username)
    home = await c.get("/")
    assert home.status_code == 200
    assert (await c.post("/logout", data={"csrf_token": csrf_of(home.text)})).status_code == 303
    async with replay(app, cookie) as thief:
        response = await thief.get("/board")
    await c.aclose()
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_the_cookie_carries_no_user_and_has_safe_flags(app, db):
    _, username = add_user(db, UserRole.SUPERVISOR)
    async with new_client(app) as c:
        response = await sign_in(c, username)  # the password, then the second factor
    header = response.headers["set-cookie"]
    assert "httponly" in header.lower() and "samesite=lax" in header.lower()
    assert "secure" not in header.lower()  # served over http in tests
    payload = response.cookies["duban_session"].split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    assert set(data) == {"sid", "csrf"}
    assert len(data["sid"]) >= 40 and username not in json.dumps(data)


async def test_secure_cookie_setting(settings, backend):
    secure = create_app(settings.model_copy(update={"cookie_secure": True}))
    async with secure.router.lifespan_context(secure), new_client(secure) as c:
        response = await c.get("/login")
    assert "secure" in response.headers["set-cookie"].lower()


async def test_a_password_reset_ends_sessions_tokens_and_the_calendar_link(app, db):
    user_id, username = add_user(db, UserRole.STAFF)
    c, cookie = await signed_in_cookie(app, username)
    api = new_client(app)
    headers = await api_token(api, username)
    with db.begin() as s:
        token = ensure_ical_token(session=s, user=s.get(User, user_id))
    assert (await c.get(f"/calendar/{token}.ics")).status_code == 200
    admin_id, _ = add_user(db, UserRole.ADMIN)
    with db.begin() as s:
        changes = UserChanges(password=NEW_PASSWORD)
        update_user(session=s, user_id=user_id, changes=changes, acting_user_id=admin_id)
    async with replay(app, cookie) as old:
        assert (await old.get("/assignments")).status_code == 303
    assert (await api.get("/api/v1/auth/me", headers=headers)).status_code == 401
    assert (await api.get(f"/calendar/{token}.ics")).status_code == 404
    await c.aclose()
    await api.aclose()
    with db.begin() as s:
        kinds = s.scalars(select(AuditEvent.kind).where(AuditEvent.actor_id == admin_id)).all()
    assert "user_password_reset" in kinds


async def test_own_password_change_ends_other_sessions_but_keeps_this_one(app, db):
    _, username = add_user(db, UserRole.SUPERVISOR)
    other, other_cookie = await signed_in_cookie(app, username)
    c, _ = await signed_in_cookie(app, username)
    page = await c.get("/account/password")
    form = {
        "csrf_token": csrf_of(page.text),
        "current_password": PASSWORD,
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    response = await c.post("/account/password", data=form)
    assert response.status_code == 303
    assert (await c.get("/board")).status_code == 200
    async with replay(app, other_cookie) as old:
        assert (await old.get("/board")).status_code == 303
    await other.aclose()
    await c.aclose()


async def test_common_passwords_are_refused_on_change(app, db):
    _, username = add_user(db, UserRole.SUPERVISOR)
    c = new_client(app)
    headers = await api_token(c, username)
    for weak in ("12345678", "password", " " * 8, "duban-demo", "aaaaaaaaaa", username):
        body = {"current_password": PASSWORD, "new_password": weak}
        response = await c.post("/api/v1/auth/password", json=body, headers=headers)
        assert response.status_code == 422, (weak, response.text)
    await c.aclose()


async def test_a_seeded_admin_must_change_the_password_first(app, db):
    with db.begin() as s:
        s.execute(User.__table__.delete().where(User.username == "admin"))  # type: ignore[attr-defined]
        _, generated = ensure_admin(session=s, password=None)
    assert generated
    c = new_client(app)
    response = await sign_in(c, "admin", generated)
    assert response.headers["location"] == "/account/password"
    assert (await c.get("/admin/users")).headers["location"] == "/account/password"
    c = new_client(app)  # the API without the browser's cookie
    headers = await api_token(c, "admin", generated)
    forced = await c.get("/api/v1/users", headers=headers)
    assert forced.status_code == 403 and forced.json()["code"] == "password_change_required"
    body = {"current_password": generated, "new_password": NEW_PASSWORD}
    changed = await c.post("/api/v1/auth/password", json=body, headers=headers)
    assert changed.status_code == 204
    headers = await api_token(c, "admin", NEW_PASSWORD)
    then = await c.get("/api/v1/users", headers=headers)  # next: enrol a second factor
    assert then.status_code == 403 and then.json()["code"] == "two_factor_enrolment_required"
    await c.aclose()
