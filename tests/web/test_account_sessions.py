"""One's own sessions (listed, ended one by one), idle and absolute limits, password expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from duban.db import utcnow
from duban.domain import UserRole
from duban.models import AuditEvent, LoginSession, User
from tests.db import BACKENDS
from tests.web.browser import PASSWORD, add_user, api_token, csrf_of, new_client, sign_in
from web.app import create_app

NEW_PASSWORD = "plum-blossom-77"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Sessions and password ages live in the database: both of them."""
    return str(request.param)


async def browser(app, username: str, agent: str):
    c = new_client(app)
    c.headers["user-agent"] = agent
    assert (await sign_in(c, username)).status_code == 303
    return c


async def test_a_user_sees_and_ends_their_sessions_one_by_one(app, db):
    _, username = add_user(db, UserRole.STAFF)
    _, other = add_user(db, UserRole.STAFF)
    office, phone = (
        await browser(app, username, "Office/1.0"),
        await browser(app, username, "Phone/2.0"),
    )
    stranger = await browser(app, other, "Stranger/3.0")
    page = await office.get("/account/sessions")
    assert page.status_code == 200
    assert "Office/1.0" in page.text and "Phone/2.0" in page.text and "Stranger" not in page.text
    assert page.text.count("<td>127.0.0.1</td>") == 2  # the address httpx's ASGI transport gives
    with db.begin() as s:
        ids = {r.user_agent: r.id for r in s.scalars(select(LoginSession))}
    csrf = csrf_of(page.text)
    theirs = await office.post(
        f"/account/sessions/{ids['Stranger/3.0']}/end", data={"csrf_token": csrf}
    )
    assert theirs.status_code == 404
    ended = await office.post(
        f"/account/sessions/{ids['Phone/2.0']}/end", data={"csrf_token": csrf}
    )
    assert ended.headers["location"] == "/account/sessions?ended=1"
    assert (await phone.get("/")).headers["location"].startswith("/login")
    assert (await office.get("/")).status_code == 200
    assert (await stranger.get("/")).status_code == 200
    async with new_client(app) as api:  # a token from a client without the session cookie
        headers = await api_token(api, username)
    listed = (await office.get("/api/v1/auth/sessions", headers=headers)).json()
    assert [s["user_agent"] for s in listed] == ["Office/1.0"]
    gone = await office.delete(f"/api/v1/auth/sessions/{listed[0]['id']}", headers=headers)
    assert gone.status_code == 204
    assert (await office.get("/")).headers["location"].startswith("/login")
    with db.begin() as s:
        kinds = list(s.scalars(select(AuditEvent.kind)))
    assert kinds.count("session_ended") == 2
    for c in (office, phone, stranger):
        await c.aclose()


async def test_sessions_end_when_idle_or_past_their_absolute_limit(app, db, settings):
    _, username = add_user(db, UserRole.STAFF)
    idle, old = await browser(app, username, "Idle"), await browser(app, username, "Old")
    now = utcnow()
    limit = timedelta(minutes=settings.session_idle_minutes)
    with db.begin() as s:
        s.execute(
            update(LoginSession)
            .where(LoginSession.user_agent == "Idle")
            .values(last_seen_at=now - limit - timedelta(seconds=1))
        )
        s.execute(
            update(LoginSession)
            .where(LoginSession.user_agent == "Old")
            .values(last_seen_at=now, expires_at=now - timedelta(seconds=1))
        )
    assert (await idle.get("/")).headers["location"].startswith("/login")
    assert (await old.get("/")).headers["location"].startswith("/login")
    fresh = await browser(app, username, "Fresh")
    with db.begin() as s:
        s.execute(
            update(LoginSession)
            .where(LoginSession.user_agent == "Fresh")
            .values(last_seen_at=now - limit + timedelta(minutes=1))
        )
    assert (await fresh.get("/")).status_code == 200  # active within the limit: it stays
    with db.begin() as s:
        seen = s.scalars(
            select(LoginSession.last_seen_at).where(LoginSession.user_agent == "Fresh")
        )
        assert seen.one() >= now - timedelta(minutes=1)
    for c in (idle, old, fresh):
        await c.aclose()


async def test_an_expired_password_must_be_changed_at_sign_in(settings, backend):
    app = create_app(settings.model_copy(update={"password_max_age_days": 90}))
    async with app.router.lifespan_context(app):
        db = app.state.session_factory
        _, username = add_user(db, UserRole.STAFF)
        _, recent = add_user(db, UserRole.STAFF)
        with db.begin() as s:
            user = s.scalars(select(User).where(User.username == username)).one()
            user.password_changed_at = utcnow() - timedelta(days=91)
        async with new_client(app) as c:
            assert (await sign_in(c, username)).headers["location"] == "/account/password"
            page = await c.get("/account/password")
            assert "密码已到期" in page.text
            assert (await c.get("/assignments")).headers["location"] == "/account/password"
            async with new_client(app) as api:
                headers = await api_token(api, username)
                forced = await api.get("/api/v1/assignments", headers=headers)
            assert forced.json()["code"] == "password_change_required"
            form = {
                "csrf_token": csrf_of(page.text),
                "current_password": PASSWORD,
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            }
            assert (await c.post("/account/password", data=form)).status_code == 303
            assert (await c.get("/assignments")).status_code == 200
        async with new_client(app) as c:
            assert (await sign_in(c, recent)).headers["location"] == "/"


async def test_password_expiry_is_off_by_default(app, db):
    _, username = add_user(db, UserRole.STAFF)
    with db.begin() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        user.password_changed_at = utcnow() - timedelta(days=3650)
    async with new_client(app) as c:
        assert (await sign_in(c, username)).headers["location"] == "/"
