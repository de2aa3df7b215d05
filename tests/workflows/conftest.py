"""Temporal fixtures for workflow tests: session-scoped servers and a per-test worker helper."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from actions.temporal import DATA_CONVERTER
from activities.notify import NotifyActivities
from activities.read_model import ReadModelActivities
from duban.db import make_engine, make_session_factory
from tests.temporal_env import start_local_env
from workflows.assignment import AssignmentWorkflow
from workflows.policy_task import PolicyTaskWorkflow

BIN = Path(sys.prefix) / "bin"
_executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="activity")


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server, for calendars of months and years."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server, for Updates in real time with offsets of seconds."""
    env = await start_local_env()
    yield env
    await env.shutdown()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh migrated SQLite file (workflow tests run on SQLite; one smoke test on both)."""
    from tests.db import sqlite_url as make_url

    return make_url(tmp_path)


@pytest.fixture
def session_factory(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on the fresh database, shared by the test and the worker's activities."""
    engine = make_engine(sqlite_url)
    yield make_session_factory(engine)
    engine.dispose()


def new_worker(
    client: Client,
    *workflows: type,
    activities: Sequence[Callable[..., Any]] = (),
    task_queue: str | None = None,
    **kwargs: Any,
) -> Worker:
    """Return a worker on a fresh uuid task queue (sdk-python tests/helpers style)."""
    return Worker(
        client,
        task_queue=task_queue or f"tq-{uuid.uuid4()}",
        workflows=list(workflows),
        activities=list(activities),
        activity_executor=_executor,
        **kwargs,
    )


def duban_worker(client: Client, session_factory: sessionmaker[Session], **kwargs: Any) -> Worker:
    """Return a worker with both duban workflows and their real activities."""
    reads = ReadModelActivities(session_factory)
    notes = NotifyActivities(session_factory)
    return new_worker(
        client,
        PolicyTaskWorkflow,
        AssignmentWorkflow,
        activities=[reads.begin, reads.record, notes.notify],
        **kwargs,
    )


async def assert_eventually(
    check: Callable[[], Awaitable[Any]], *, within: float = 15.0, interval: float = 0.05
) -> Any:
    """Retry an async check until it stops raising AssertionError, or fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            return await check()
        except AssertionError:
            if loop.time() > deadline:
                raise
        await asyncio.sleep(interval)
