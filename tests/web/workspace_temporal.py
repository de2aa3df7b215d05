"""Real Temporal for workspace tests: a session dev server, the app wired to it and a running worker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from actions.starter import start_policy
from cli.worker import running_worker
from duban.db import make_session_factory
from duban.models import AuditEvent
from duban.settings import Settings
from tests.temporal_env import start_local_env
from tests.workspace import make_assignment, make_department, make_policy
from web.app import create_app

T = TypeVar("T")


@pytest.fixture(scope="session")
async def workspace_temporal() -> AsyncIterator[WorkflowEnvironment]:
    """One Temporal dev server for the workspace tests (Updates in real time)."""
    env = await start_local_env()
    yield env
    await env.shutdown()


@pytest.fixture
async def live_app(
    settings: Settings, workspace_temporal: WorkflowEnvironment
) -> AsyncIterator[FastAPI]:
    """The app on the dev server with a worker on its own task queue (no scheduler)."""
    tuned = settings.model_copy(update={"task_queue": f"tq-{uuid.uuid4()}"})
    application = create_app(tuned, temporal_client=workspace_temporal.client)
    async with application.router.lifespan_context(application):
        # The worker's own sessions, as in production: the web's hide rows not yet started,
        # and a workflow's first activities may run before its start is confirmed.
        factory = make_session_factory(application.state.engine)
        async with running_worker(workspace_temporal.client, tuned, factory, scheduler=False):
            yield application


async def eventually(check: Callable[[], Awaitable[T]], *, within: float = 30.0) -> T:
    """Return the first truthy result of `check`, polling until the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"not true within {within}s: {result!r}")
        await asyncio.sleep(0.1)


@dataclass
class Started:
    """Assignments whose workflows have opened their first period."""

    ids: list[int]


async def start_and_wait(app: FastAPI, policy_key: str, assignment_ids: list[int]) -> Started:
    """Start the policy's workflows and wait until every assignment has opened a period."""
    factory: sessionmaker[Session] = app.state.session_factory
    lazy: Any = app.state.temporal
    client = await lazy.get()
    await start_policy(
        client, session_factory=factory, settings=app.state.settings, policy_key=policy_key
    )

    async def opened() -> bool:
        with factory() as s:
            stmt = select(AuditEvent.assignment_id).where(AuditEvent.kind == "period_opened")
            return set(assignment_ids) <= set(s.scalars(stmt))

    await eventually(opened)
    return Started(assignment_ids)


async def start_lead_and_co(app: FastAPI, db: sessionmaker[Session]) -> tuple[int, int]:
    """Start one item led by 省扶贫办 (fpb) with 省财政厅 (czt) co-operating; return both ids."""
    with db.begin() as s:
        policy = make_policy(s)
        fpb, czt = make_department(s, "fpb", "省扶贫办"), make_department(s, "czt", "省财政厅")
        lead = make_assignment(s, policy=policy, department=fpb, periods=0)
        co = make_assignment(s, policy=policy, department=czt, role="co", periods=0)
        key, ids = policy.key, (lead.id, co.id)
    await start_and_wait(app, key, list(ids))
    return ids
