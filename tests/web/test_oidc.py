"""Single sign-on through OpenID Connect against a real provider process (tests/oidc/):
claims mapped to role and department, PKCE + state + nonce, a replayed code, unknown claims
refused with nothing created, the provider down as a clear 503 page. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from duban.models import AuditEvent, OidcIdentity, User
from duban.settings import Settings
from tests.db import BACKENDS
from tests.e2e.stack import free_port
from tests.oidc.provider import OidcProvider
from tests.web.browser import add_department, new_client
from web.app import create_app

CALLBACK = "http://testserver/login/oidc/callback"
USERS: dict[str, dict[str, Any]] = {
    "u-staff": {
        "name": "张承办",
        "email": "zhang@example.gov.cn",
        "duban_department": "ORG-A",
        "duban_role": "承办人",
    },
    "u-sup-mfa": {"name": "李督查", "duban_role": "督查员", "amr": ["pwd", "otp"]},
    "u-sup": {"name": "王督查", "duban_role": "督查员", "amr": ["pwd"]},
    "u-unknown-dept": {"name": "赵", "duban_department": "ORG-X", "duban_role": "承办人"},
    "u-missing-dept": {"name": "钱", "duban_department": "ORG-B", "duban_role": "承办人"},
    "u-bad-role": {"name": "孙", "duban_role": "访客"},
}
MAPPING = {
    "oidc_department_map": "ORG-A=oa-d01,ORG-B=oa-d99",
    "oidc_role_map": "承办人=staff,责任人=head,督查员=supervisor,领导=leader",
}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Identities and accounts live in the database: both of them."""
    return str(request.param)


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    """One real provider process for the module."""
    running = OidcProvider(USERS, [CALLBACK])
    yield running
    running.stop()


@pytest.fixture
async def app(settings: Settings, provider: OidcProvider) -> AsyncIterator[FastAPI]:
    """The app with single sign-on through the provider (department oa-d01 exists)."""
    application = create_app(provider.settings(settings, **MAPPING))
    async with application.router.lifespan_context(application):
        add_department(application.state.session_factory, code="oa-d01")
        yield application


async def to_callback(c: httpx.AsyncClient, subject: str) -> str:
    """Start at duban, sign in at the provider as `subject`; return duban's callback URL."""
    start = await c.get("/login/oidc")
    assert start.status_code == 303, start.text
    url = start.headers["location"]
    async with httpx.AsyncClient(timeout=10) as idp:
        response = await idp.get(url)
        for _ in range(10):
            if response.status_code in (302, 303):
                url = urljoin(str(response.url), response.headers["location"])
                if url.startswith(CALLBACK):
                    return url
                response = await idp.get(url)
            elif response.status_code == 200 and 'name="login"' in response.text:
                response = await idp.post(str(response.url), data={"login": subject})
            else:
                raise AssertionError(f"provider answered {response.status_code}: {response.text}")
    raise AssertionError("the provider never sent the browser back")


async def sign_in_oidc(c: httpx.AsyncClient, subject: str) -> httpx.Response:
    """The whole flow; return duban's answer to the callback."""
    return await c.get(await to_callback(c, subject))


def count(db: sessionmaker[Session], model: type[Any]) -> int:
    with db.begin() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def user_of(db: sessionmaker[Session], subject: str) -> User:
    with db.begin() as s:
        link = s.scalars(select(OidcIdentity).where(OidcIdentity.subject == subject)).one()
        user = s.get(User, link.user_id)
        assert user is not None
        s.expunge(user)
        return user


async def test_the_login_page_offers_single_sign_on_only_when_configured(app, settings):
    async with new_client(app) as c:
        assert "统一身份认证登录" in (await c.get("/login")).text
    plain = create_app(settings)
    async with plain.router.lifespan_context(plain), new_client(plain) as c:
        assert "统一身份认证登录" not in (await c.get("/login")).text
        assert (await c.get("/login/oidc")).status_code == 404


async def test_a_new_user_is_made_from_the_claims_and_updated_at_each_sign_in(app, db):
    async with new_client(app) as c:
        done = await sign_in_oidc(c, "u-staff")
        assert (done.status_code, done.headers["location"]) == (303, "/")
        home = await c.get("/")
        assert home.status_code == 200 and "张承办" in home.text
    user = user_of(db, "u-staff")
    assert (user.role, user.email) == ("staff", "zhang@example.gov.cn")
    assert user.department is not None and user.department.code == "oa-d01"
    assert user.username.startswith("oidc-") and user.password_hash == "!oidc"
    with db.begin() as s:  # an admin (or time) changed the account meanwhile
        changed = s.get(User, user.id)
        assert changed is not None
        changed.role, changed.display_name = "head", "旧名"
    async with new_client(app) as c:
        assert (await sign_in_oidc(c, "u-staff")).status_code == 303
    again = user_of(db, "u-staff")
    assert (again.id, again.role, again.display_name) == (user.id, "staff", "张承办")
    assert count(db, OidcIdentity) == 1
    with db.begin() as s:
        kinds = list(s.scalars(select(AuditEvent.kind).order_by(AuditEvent.id)))
    assert kinds.count("sign_in_succeeded") == 2 and "user_role_changed" in kinds


async def test_a_supervisor_the_provider_checked_with_a_second_factor_is_not_asked_again(app, db):
    async with new_client(app) as c:
        assert (await sign_in_oidc(c, "u-sup-mfa")).headers["location"] == "/"
        assert (await c.get("/board")).status_code == 200  # no TOTP enrolment, no /login/2fa
    assert user_of(db, "u-sup-mfa").role == "supervisor"


async def test_without_the_providers_second_factor_duban_asks_for_its_own(app):
    async with new_client(app) as c:
        assert (await sign_in_oidc(c, "u-sup")).status_code == 303
        board = await c.get("/board")
        assert (board.status_code, board.headers["location"]) == (303, "/account/2fa")


async def test_a_wrong_state_is_refused_and_nothing_is_made(app, db):
    async with new_client(app) as c:
        url = urlsplit(await to_callback(c, "u-staff"))
        query = parse_qs(url.query) | {"state": ["forged-state"]}
        forged = urlunsplit(url._replace(query=urlencode(query, doseq=True)))
        refused = await c.get(forged, headers={"accept": "text/html"})
        assert refused.status_code == 400 and "state mismatch" in refused.text
        assert "Traceback" not in refused.text and "返回登录页" in refused.text
        assert (await c.get("/")).status_code == 303  # no session
    assert count(db, User) == 1 and count(db, OidcIdentity) == 0  # the first admin only


async def test_a_replayed_code_is_refused_by_the_provider(app, db):
    async with new_client(app) as c:
        callback = await to_callback(c, "u-staff")
        pending_cookie = c.cookies["duban_session"]  # what a thief of cookie and URL holds
        assert (await c.get(callback)).status_code == 303
    async with new_client(app) as thief:
        thief.cookies.set("duban_session", pending_cookie)
        replay = await thief.get(callback)
        assert replay.status_code == 400 and "code refused" in replay.text
        assert (await thief.get("/")).status_code == 303
    with db.begin() as s:
        failed = s.scalars(select(AuditEvent).where(AuditEvent.kind == "sign_in_failed")).all()
    assert [e.data["reason"] for e in failed] == ["oidc_failed"]


@pytest.mark.parametrize("subject", ["u-unknown-dept", "u-missing-dept", "u-bad-role"])
async def test_an_unknown_department_or_role_is_refused_with_no_account(app, db, subject):
    async with new_client(app) as c:
        refused = await sign_in_oidc(c, subject)
        assert refused.status_code == 403
        assert "统一身份认证登录未成功" in refused.text and "未创建或更改任何账户" in refused.text
        assert ("部门" if "dept" in subject else "角色") in refused.text
        assert (await c.get("/")).status_code == 303
    assert count(db, OidcIdentity) == 0 and count(db, User) == 1


async def test_a_provider_that_is_down_is_a_clear_503_page(settings):
    down = settings.model_copy(
        update={
            "oidc_issuer": f"http://127.0.0.1:{free_port()}",  # nothing listens there
            "oidc_client_id": "duban-test",
            "oidc_client_secret": "x",
        }
    )
    application = create_app(down)
    async with application.router.lifespan_context(application), new_client(application) as c:
        page = await c.get("/login/oidc")
        assert page.status_code == 503 and page.headers["retry-after"] == "5"
        assert "统一身份认证服务暂不可用" in page.text and "Traceback" not in page.text
        callback = await c.get("/login/oidc/callback?code=x&state=y")
        assert callback.status_code == 400 and "Traceback" not in callback.text
