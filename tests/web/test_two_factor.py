"""TOTP second factor and recovery codes: enrolment, sign-in by page and API, replay, throttle."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from duban.domain import UserRole
from duban.models import AuditEvent
from duban.services.user import create_user
from tests.db import BACKENDS
from tests.two_factor import SECRET
from tests.web.browser import PASSWORD, add_user, api_token, code_for, csrf_of, new_client, sign_in
from web.app import create_app

URI = re.compile(r'<code class="totp-uri">([^<]+)</code>')
CODES = re.compile(r"<li><code>([a-z0-9-]{19})</code></li>")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Factors, codes and throttles live in the database: both of them."""
    return str(request.param)


def new_supervisor(db, role: UserRole = UserRole.SUPERVISOR) -> str:
    """A supervisor (or another role with power) that has not enrolled yet."""
    with db.begin() as s:
        create_user(session=s, username="wangdu", password=PASSWORD, role=role)
    return "wangdu"


def kinds(db) -> list[str]:
    with db.begin() as s:
        return list(s.scalars(select(AuditEvent.kind).order_by(AuditEvent.id)))


async def enrol(c, csrf: str) -> tuple[str, list[str]]:
    """Enrol through the page with the secret it shows; return the code used and the recovery codes."""
    page = await c.get("/account/2fa")
    found = URI.search(page.text)
    assert found is not None
    uri = found.group(1).replace("&amp;", "&")
    secret = pyotp.parse_uri(uri).secret
    wrong = await c.post("/account/2fa", data={"csrf_token": csrf, "code": "000000"})
    assert wrong.status_code == 422
    code = pyotp.TOTP(secret).now()
    done = await c.post("/account/2fa", data={"csrf_token": csrf, "code": code})
    assert done.status_code == 200
    return code, CODES.findall(done.text)


@pytest.mark.parametrize("role", [UserRole.SUPERVISOR, UserRole.LEADER])
async def test_a_supervisor_must_enrol_then_signs_in_with_a_code(app, db, role):
    username = new_supervisor(db, role)
    async with new_client(app) as c:
        assert (await sign_in(c, username)).headers["location"] == "/"
        board = await c.get("/notifications")
        assert (board.status_code, board.headers["location"]) == (303, "/account/2fa")
        page = await c.get("/account/2fa")
        assert "otpauth://totp/" in page.text and "两步验证" in page.text
        _, codes = await enrol(c, csrf_of(page.text))
        assert len(codes) == 10 and len(set(codes)) == 10
        assert (await c.get("/notifications")).status_code == 200  # this session showed the factor
    async with new_client(app) as c:
        first = await sign_in_password(c, username)
        assert first.headers["location"].startswith("/login/2fa")
        assert (await c.get("/notifications")).headers["location"].startswith("/login")
    assert {"two_factor_enabled", "sign_in_succeeded"} <= set(kinds(db))


async def sign_in_password(c, username: str, password: str = PASSWORD):
    page = await c.get("/login")
    form = {"csrf_token": csrf_of(page.text), "username": username, "password": password}
    return await c.post("/login", data=form)


async def second_step(c, code: str):
    page = await c.get("/login/2fa")
    return await c.post("/login/2fa", data={"csrf_token": csrf_of(page.text), "code": code})


async def test_a_code_works_once_and_a_recovery_code_once(app, db):
    username = new_supervisor(db)
    async with new_client(app) as c:
        await sign_in(c, username)
        code, recovery = await enrol(c, csrf_of((await c.get("/account/2fa")).text))
    async with new_client(app) as c:
        await sign_in_password(c, username)
        assert (await second_step(c, code)).status_code == 401  # used to confirm enrolment
    async with new_client(app) as c:
        await sign_in_password(c, username)
        assert (await second_step(c, recovery[0].upper())).status_code == 303
        assert (await c.get("/board")).status_code == 200
    async with new_client(app) as again:
        await sign_in_password(again, username)
        assert (await second_step(again, recovery[0])).status_code == 401
        assert (await second_step(again, recovery[1].replace("-", " "))).status_code == 303
    assert kinds(db).count("recovery_code_used") == 2
    assert kinds(db).count("two_factor_failed") == 2


async def test_the_api_asks_for_the_code_and_old_tokens_end_at_enrolment(app, db, client):
    _, admin = add_user(db, UserRole.ADMIN)
    body = {"username": admin, "password": PASSWORD}
    missing = await client.post("/api/v1/auth/token", json=body)
    assert (missing.status_code, missing.json()["code"]) == (401, "otp_required")
    bad = await client.post("/api/v1/auth/token", json=body | {"otp": "123456"})
    assert (bad.status_code, bad.json()["code"]) == (401, "bad_otp")
    good = await client.post("/api/v1/auth/token", json=body | {"otp": pyotp.TOTP(SECRET).now()})
    assert good.status_code == 200

    username = new_supervisor(db)
    token = await client.post(
        "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    refused = await client.get("/api/v1/board", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "two_factor_enrolment_required")
    started = (await client.post("/api/v1/auth/2fa", headers=headers)).json()
    code = pyotp.TOTP(started["secret"]).now()
    confirm = await client.post("/api/v1/auth/2fa/confirm", json={"code": code}, headers=headers)
    assert len(confirm.json()["recovery_codes"]) == 10
    assert (await client.get("/api/v1/board", headers=headers)).status_code == 401
    again = await client.post("/api/v1/auth/2fa", headers=headers)
    assert again.status_code == 401  # the old token showed no factor: sign in again with one


async def test_wrong_codes_are_throttled_like_passwords(app, db):
    _, username = add_user(db, UserRole.SUPERVISOR)
    async with new_client(app) as c:
        await sign_in_password(c, username)
        answers = [(await second_step(c, f"{n:06d}")).status_code for n in range(6)]
        right = await second_step(c, code_for(username) or "")
    assert answers == [401] * 5 + [429] and right.status_code == 429


async def test_under_duban_dev_the_demo_roles_skip_enrolment(settings):
    dev = create_app(settings, dev_mode=True)
    async with dev.router.lifespan_context(dev), new_client(dev) as c:
        username = new_supervisor(dev.state.session_factory)
        assert (await sign_in(c, username)).status_code == 303
        assert (await c.get("/board")).status_code == 200


async def test_an_admin_resets_a_lost_factor(app, db, client, login_as):
    user_id, username = add_user(db, UserRole.SUPERVISOR)
    async with new_client(app) as phone:
        assert (await sign_in(phone, username)).status_code == 303
        admin = await login_as(UserRole.ADMIN)
        page = await admin.client.get(f"/admin/users/{user_id}")
        assert "重置两步验证" in page.text
        async with new_client(app) as api:
            headers = await api_token(api, admin.username)
            refused = await api.post(
                f"/api/v1/users/{user_id}/two-factor/reset", headers=await api_token(api, username)
            )
            assert refused.status_code == 403
            reset = await api.post(f"/api/v1/users/{user_id}/two-factor/reset", headers=headers)
        assert reset.status_code == 204
        assert (await phone.get("/board")).headers["location"].startswith("/login")
    async with new_client(app) as c:
        assert (await sign_in_password(c, username)).headers["location"] == "/"
        assert (await c.get("/board")).headers["location"] == "/account/2fa"
    assert "two_factor_reset" in kinds(db)
