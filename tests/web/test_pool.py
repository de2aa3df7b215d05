"""One pooled connection per request at most: bursts of sign-ins and uploads are all answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from duban.domain import UserRole
from duban.models import Evidence, User
from tests.db import BACKENDS
from tests.web.browser import add_user, api_token
from tests.workspace import make_assignment, make_department, make_policy

BURST_SECONDS = 5.0
# The stored hash's own parameters set the cost of checking it. A cheap one keeps this test
# about connections, not about how fast two shared cores run 30 full-cost Argon2 checks.
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def pdf(n: int) -> bytes:
    """Return a small distinct PDF."""
    return b"%PDF-1.4\n%" + str(n).encode() + b"\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Pool behaviour differs between SQLite and PostgreSQL: run on both."""
    return str(request.param)


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60)


@pytest.fixture
async def clients(app: FastAPI) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Forty independent clients (no shared cookie jar)."""
    made = [_client(app) for _ in range(40)]
    yield made
    for c in made:
        await c.aclose()


async def test_thirty_wrong_sign_ins_at_once_are_all_answered(app, db, clients) -> None:
    _uid, username = add_user(db, UserRole.STAFF)
    with db.begin() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        user.password_hash = CHEAP.hash("correct-horse-1")
    started = time.monotonic()
    answers = await asyncio.gather(
        *(
            c.post("/api/v1/auth/token", json={"username": username, "password": f"wrong-{i}"})
            for i, c in enumerate(clients[:30])
        )
    )
    took = time.monotonic() - started
    statuses = sorted(r.status_code for r in answers)
    assert set(statuses) <= {401, 429}, statuses
    assert took < BURST_SECONDS, f"30 sign-ins took {took:.1f}s"


async def test_forty_uploads_at_once_are_all_stored(
    app, db: sessionmaker[Session], clients
) -> None:
    with db.begin() as s:
        dept = make_department(s)
        assignment_id = make_assignment(s, policy=make_policy(s), department=dept).id
        code = dept.code
    _uid, username = add_user(db, UserRole.STAFF, code)
    with db.begin() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        user.password_hash = CHEAP.hash("correct-horse-1")
    headers = await api_token(clients[0], username)
    started = time.monotonic()
    answers = await asyncio.gather(
        *(
            c.post(
                f"/api/v1/assignments/{assignment_id}/evidence",
                files={"file": (f"进展-{i}.pdf", pdf(i), "application/pdf")},
                headers=headers,
            )
            for i, c in enumerate(clients)
        )
    )
    took = time.monotonic() - started
    assert [r.status_code for r in answers] == [201] * 40, [r.text[:200] for r in answers]
    assert took < BURST_SECONDS, f"40 uploads took {took:.1f}s"
    with db() as s:
        stored = s.scalar(select(func.count()).where(Evidence.assignment_id == assignment_id))
    assert stored == 40
