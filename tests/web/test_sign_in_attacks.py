"""Sign-in under attack, on SQLite and PostgreSQL: bursts, spraying, rotated X-Forwarded-For."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from duban.domain import UserRole
from duban.models import AuditEvent
from duban.services.sign_in import MAX_ADDRESS_FAILURES, MAX_FAILURES
from duban.services.user import DEMO_PASSWORD, create_user
from tests.db import BACKENDS
from tests.smtp import free_port
from tests.web.browser import PASSWORD, add_user, code_for, new_client, sign_in
from tests.workflows.conftest import assert_eventually
from web.app import create_app
from web.serving import server_config

BURST = 30


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """These run on both databases: the throttle's atomicity depends on each one's locking."""
    return str(request.param)


async def token_attempt(app, username: str, password: str, headers=None) -> int:
    async with new_client(app) as c:
        response = await c.post(
            "/api/v1/auth/token",
            json={"username": username, "password": password, "otp": code_for(username)},
            headers=headers or {},
        )
    return response.status_code


def failed_checks(db) -> int:
    """How many passwords were checked and found wrong (each writes one audit event)."""
    with db.begin() as s:
        stmt = select(func.count()).where(AuditEvent.kind == "sign_in_failed")
        return int(s.scalar(stmt) or 0)


async def test_a_concurrent_burst_checks_at_most_the_limit(app, db):
    _, username = add_user(db, UserRole.SUPERVISOR)
    codes = await asyncio.gather(
        *(token_attempt(app, username, f"wrong-guess-{n}") for n in range(BURST))
    )
    counted = Counter(codes)
    assert set(counted) <= {401, 429}, counted
    assert counted[401] <= MAX_FAILURES, counted
    assert counted[429] >= BURST - MAX_FAILURES
    assert failed_checks(db) == counted[401]
    # The right password is refused too while the account is throttled from this address.
    assert await token_attempt(app, username, PASSWORD) == 429


async def test_rotated_forwarded_for_from_an_untrusted_peer_is_ignored(app, db):
    _, username = add_user(db, UserRole.SUPERVISOR)
    codes = [
        await token_attempt(app, username, "wrong-guess", {"X-Forwarded-For": f"203.0.113.{n}"})
        for n in range(20)
    ]
    assert codes == [401] * MAX_FAILURES + [429] * (20 - MAX_FAILURES)
    rotated = {"X-Forwarded-For": "198.51.100.7"}
    assert await token_attempt(app, username, PASSWORD, rotated) == 429


async def test_forwarded_for_is_read_from_a_trusted_proxy(settings):
    trusted = settings.model_copy(update={"trusted_proxies": "127.0.0.1/32, 10.0.0.0/8"})
    proxied = create_app(trusted)
    async with proxied.router.lifespan_context(proxied):
        _, username = add_user(proxied.state.session_factory, UserRole.SUPERVISOR)
        attacker = {"X-Forwarded-For": "203.0.113.9, 10.1.1.1"}
        codes = [await token_attempt(proxied, username, "wrong", attacker) for _ in range(6)]
        assert codes == [401] * MAX_FAILURES + [429]
        # Another client behind the same proxies is not locked out by the attacker.
        assert (
            await token_attempt(proxied, username, PASSWORD, {"X-Forwarded-For": "198.51.100.7"})
            == 200
        )
        # The client cannot hide behind a forged left-most hop: the right-most untrusted counts.
        forged = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
        assert await token_attempt(proxied, username, PASSWORD, forged) == 429


def _spray_accounts(db, count: int, password: str) -> list[str]:
    names = [f"spray-{n:02d}" for n in range(count)]
    with db.begin() as s:
        for name in names:
            create_user(
                session=s,
                username=name,
                password=password,
                role=UserRole.SUPERVISOR,
                allow_demo=True,
            )
    return names


async def test_the_demo_password_sprayed_over_accounts_is_refused_then_throttled(app, db):
    names = _spray_accounts(db, BURST, DEMO_PASSWORD)
    codes = [await token_attempt(app, name, DEMO_PASSWORD) for name in names]
    assert codes == [401] * MAX_ADDRESS_FAILURES + [429] * (BURST - MAX_ADDRESS_FAILURES)


async def test_wrong_passwords_sprayed_over_accounts_are_throttled_per_address(app, db):
    names = _spray_accounts(db, BURST, PASSWORD)
    codes = await asyncio.gather(*(token_attempt(app, name, "Winter2026!") for name in names))
    assert Counter(codes) == {401: MAX_ADDRESS_FAILURES, 429: BURST - MAX_ADDRESS_FAILURES}
    assert failed_checks(db) == MAX_ADDRESS_FAILURES


async def test_duban_dev_accepts_the_demo_password(settings):
    dev = create_app(settings, dev_mode=True)
    async with dev.router.lifespan_context(dev):
        (name,) = _spray_accounts(dev.state.session_factory, 1, DEMO_PASSWORD)
        assert await token_attempt(dev, name, DEMO_PASSWORD) == 200
        async with new_client(dev) as c:
            response = await sign_in(c, name, DEMO_PASSWORD)
            assert response.status_code == 303 and response.headers["location"] == "/"
        with dev.state.session_factory.begin() as s:
            stmt = select(AuditEvent.data).where(AuditEvent.kind == "sign_in_succeeded")
            vias = [data["via"] for data in s.scalars(stmt)]
        assert vias == ["api", "page"]


@asynccontextmanager
async def served(app) -> AsyncIterator[str]:
    """Serve the app with duban's uvicorn config on a free loopback port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(server_config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())

    async def started() -> None:
        assert server.started

    try:
        await assert_eventually(started)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_rotated_forwarded_for_through_the_real_server_is_ignored(settings):
    # uvicorn on its own trusts X-Forwarded-For from any local peer; duban's config must not.
    application = create_app(settings)
    async with served(application) as base, httpx.AsyncClient(base_url=base) as c:
        _, username = add_user(application.state.session_factory, UserRole.SUPERVISOR)
        codes = []
        for n in range(8):
            forwarded = {"X-Forwarded-For": f"203.0.113.{n}"}
            body = {"username": username, "password": "wrong-guess"}
            codes.append(
                (await c.post("/api/v1/auth/token", json=body, headers=forwarded)).status_code
            )
        right = {"username": username, "password": PASSWORD}
        last = await c.post(
            "/api/v1/auth/token", json=right, headers={"X-Forwarded-For": "198.51.100.1"}
        )
    assert codes == [401] * MAX_FAILURES + [429] * (8 - MAX_FAILURES)
    assert last.status_code == 429
