"""Outages answer 503 + Retry-After in bounded time; reads that need no Temporal keep working."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from cli.worker import running_worker
from duban.db import make_session_factory
from duban.domain import UserRole
from duban.models import Assignment, User
from duban.settings import Settings
from tests.db import PG_ADMIN_URL
from tests.faults.stack import start_assignment
from tests.temporal_env import start_local_env
from tests.web.browser import add_user, api_token
from web.app import create_app

ACTION_TIMEOUT = 2.0
# The stored hash's parameters set the cost of checking it; these tests are about outages.
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60)


@pytest.fixture(scope="module")
async def shared_temporal() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server for the tests that keep it running."""
    env = await start_local_env()
    yield env
    await env.shutdown()


def _settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"temporal_action_timeout": ACTION_TIMEOUT, "task_queue": f"tq-{uuid.uuid4()}"}
    )


async def _user(db: sessionmaker[Session], role: UserRole, code: str | None = None) -> str:
    _uid, username = add_user(db, role, code)
    with db.begin() as s:
        s.scalars(select(User).where(User.username == username)).one().password_hash = CHEAP.hash(
            "correct-horse-1"
        )
    return username


def _code(db: sessionmaker[Session], assignment_id: int) -> str:
    with db() as s:
        return s.get_one(Assignment, assignment_id).department.code


def _retry_after(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) > 0
    assert "稍后重试" in r.json()["detail"]


async def test_worker_down_actions_are_503_and_reads_stay_quick(
    settings: Settings, shared_temporal: WorkflowEnvironment, tmp_path: Path
) -> None:
    app = create_app(_settings(settings), temporal_client=shared_temporal.client)
    async with app.router.lifespan_context(app), _client(app) as c:
        db: sessionmaker[Session] = app.state.session_factory
        # Started on a task queue no worker polls: every Update waits for ever.
        handle, aid = await start_assignment(
            shared_temporal.client,
            make_session_factory(app.state.engine),  # sees rows before their start
            tmp_path,
            f"nobody-{uuid.uuid4()}",
            due_in=timedelta(days=30),
        )
        code = _code(db, aid)
        staff = await api_token(c, await _user(db, UserRole.STAFF, code))
        boss = await api_token(c, await _user(db, UserRole.SUPERVISOR))
        started = time.monotonic()
        acts = [
            asyncio.create_task(
                c.post(f"/api/v1/assignments/{aid}/acknowledge", json={}, headers=staff)
            )
            for _ in range(35)
        ]
        read = await c.get("/api/v1/board", headers=boss)
        read_took = time.monotonic() - started
        assert read.status_code == 200, read.text
        assert read_took < 1.5 and not any(a.done() for a in acts), read_took
        answers = await asyncio.wait_for(asyncio.gather(*acts), ACTION_TIMEOUT + 10)
        for r in answers:
            _retry_after(r)
        assert time.monotonic() - started < ACTION_TIMEOUT + 5
        await handle.terminate()  # the policy key repeats on the shared server


async def test_temporal_stopped_mid_test(settings: Settings, tmp_path: Path) -> None:
    env = await start_local_env()
    try:
        tuned = _settings(settings)
        app = create_app(tuned, temporal_client=env.client)
        async with app.router.lifespan_context(app), _client(app) as c:
            db: sessionmaker[Session] = app.state.session_factory
            worker_db = make_session_factory(app.state.engine)
            async with running_worker(env.client, tuned, worker_db, scheduler=False):
                _h, aid = await start_assignment(
                    env.client,
                    make_session_factory(app.state.engine),
                    tmp_path,
                    tuned.task_queue,
                    due_in=timedelta(days=30),
                )
                code = _code(db, aid)
                staff = await api_token(c, await _user(db, UserRole.STAFF, code))
                boss = await api_token(c, await _user(db, UserRole.SUPERVISOR))
                ack = await c.post(f"/api/v1/assignments/{aid}/acknowledge", json={}, headers=staff)
                assert ack.status_code == 200, ack.text
            await env.shutdown()
            started = time.monotonic()
            submit = await c.post(
                f"/api/v1/assignments/{aid}/submissions", json={"report": "进展"}, headers=staff
            )
            _retry_after(submit)
            urge = await c.post(f"/api/v1/assignments/{aid}/urge", json={}, headers=boss)
            _retry_after(urge)
            assert time.monotonic() - started < 2 * ACTION_TIMEOUT + 5
            # The 催办 that never went out is forgotten: no cooldown blocks sending it again.
            board = (await c.get("/api/v1/board", headers=boss)).json()
            row = next(r for r in board["rows"] if r["assignment_id"] == aid)
            assert row["last_urged_at"] is None
            for url, who in (
                (f"/api/v1/assignments/{aid}", staff),
                ("/api/v1/assignments", staff),
                ("/api/v1/board", boss),
                ("/api/v1/reviews", boss),
            ):
                assert (await c.get(url, headers=who)).status_code == 200, url
    finally:
        await env.shutdown()


async def test_database_unreachable_is_503(tmp_path: Path) -> None:
    closed = PG_ADMIN_URL.rsplit("@", 1)[0] + "@127.0.0.1:1/test"
    app = create_app(Settings(data_dir=tmp_path, database_url=closed, secret_key="k"))
    async with app.router.lifespan_context(app), _client(app) as c:
        started = time.monotonic()
        token = await c.post("/api/v1/auth/token", json={"username": "a", "password": "b"})
        _retry_after(token)
        page = await c.post("/api/v1/auth/token", json={"username": "a", "password": "b"})
        _retry_after(page)
        assert time.monotonic() - started < 5


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_database_dropped_mid_test_is_503(
    settings: Settings, db_url: str, pg_template
) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app), _client(app) as c:
        db: sessionmaker[Session] = app.state.session_factory
        staff = await api_token(c, await _user(db, UserRole.SUPERVISOR))
        assert (await c.get("/api/v1/board", headers=staff)).status_code == 200
        pg_template.drop(db_url)
        started = time.monotonic()
        for url in ("/api/v1/board", "/api/v1/assignments"):
            _retry_after(await c.get(url, headers=staff))
        assert time.monotonic() - started < 5
