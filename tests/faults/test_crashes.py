"""A worker killed with SIGKILL, and a dev server restarted on its SQLite file: workflows carry on."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from actions.temporal import connect
from cli.devserver import DevServer, free_port
from duban.db import make_engine, make_session_factory
from duban.models import Assignment, Escalation
from duban.services.user import ensure_admin
from duban.settings import Settings
from tests.db import sqlite_url
from tests.faults.stack import (
    WorkerProcess,
    audit_kinds,
    eventually,
    start_assignment,
    submission_count,
)
from workflows.assignment import ActionInput, AssignmentWorkflow, ReviewInput, SubmitInput

ONCE = ("assigned", "period_opened", "acknowledged", "submitted", "period_closed", "completed")


@dataclass
class Stack:
    """A dev server, a migrated SQLite read model and the env a `duban worker` needs."""

    server: DevServer
    factory: sessionmaker[Session]
    env: dict[str, str]
    folder: Path
    user_id: int

    async def client(self) -> Client:
        """Connect to the current dev server."""
        return await connect(Settings(temporal_address=self.server.address))

    def worker(self, name: str) -> WorkerProcess:
        """Start a `duban worker` subprocess."""
        return WorkerProcess(self.env, self.folder / f"{name}.log")


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    server = await DevServer.start(db_file=tmp_path / "temporal.sqlite3", port=free_port())
    url = sqlite_url(tmp_path)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        user, _ = ensure_admin(session=session, password="fault-test-pw")
    env = {
        "TEMPORAL_ADDRESS": server.address,
        "DATABASE_URL": url,
        "DUBAN_DATA_DIR": str(tmp_path / "data"),
        "DUBAN_TASK_QUEUE": f"faults-{uuid.uuid4().hex[:8]}",
    }
    made = Stack(server, factory, env, tmp_path, user.id)
    try:
        yield made
    finally:
        made.server.stop()
        engine.dispose()


async def _finish(handle, user_id: int) -> None:
    """Submit twice with one key, then approve: the repeat must change nothing."""
    submit = SubmitInput("fault-submit-1", user_id, "承办人", "已完成本期工作。")
    first = await handle.execute_update(AssignmentWorkflow.submit, submit, id=submit.key)
    again = await handle.execute_update(AssignmentWorkflow.submit, submit, id=submit.key)
    assert again == first
    review = ReviewInput("fault-review-1", user_id, "督查室", "approve", rating=4)
    await handle.execute_update(AssignmentWorkflow.review, review, id=review.key)


def _assert_each_step_once(stack: Stack, assignment_id: int, *extra: str) -> None:
    counts = Counter(audit_kinds(stack.factory, assignment_id))
    for kind in (*ONCE, *extra):
        assert counts[kind] == 1, (kind, counts)
    # A reminder may be skipped once the period is overdue, but nothing is ever recorded twice.
    assert max(counts.values()) == 1, counts
    assert submission_count(stack.factory, assignment_id) == 1
    with stack.factory() as session:
        row = session.get_one(Assignment, assignment_id)
        assert row.state == "completed"
        levels = sorted(
            e.level for e in session.query(Escalation).filter_by(assignment_id=assignment_id)
        )
    assert levels == sorted(set(levels))


async def test_worker_killed_mid_period_carries_on(stack: Stack):
    first = stack.worker("worker-a")
    client = await stack.client()
    queue = stack.env["DUBAN_TASK_QUEUE"]
    handle, assignment_id = await start_assignment(
        client, stack.factory, stack.folder, queue, due_in=timedelta(seconds=8)
    )
    await eventually(lambda: _has(stack, assignment_id, "period_opened"))
    ack = ActionInput("fault-ack-1", stack.user_id, "承办人")
    await handle.execute_update(AssignmentWorkflow.acknowledge, ack, id=ack.key)
    await eventually(lambda: _has(stack, assignment_id, "acknowledged"))
    first.kill9()
    assert first.process.returncode == -9

    second = stack.worker("worker-b")
    try:
        await eventually(lambda: _has(stack, assignment_id, "escalation_l2"), within=120)
        await _finish(handle, stack.user_id)
        status = await handle.result()
    finally:
        assert second.stop() == 0
    assert status.completed and status.state == "completed"
    _assert_each_step_once(stack, assignment_id, "escalation_l1", "escalation_l2")


async def test_dev_server_restart_keeps_workflows(stack: Stack):
    worker = stack.worker("worker")
    try:
        client = await stack.client()
        queue = stack.env["DUBAN_TASK_QUEUE"]
        handle, assignment_id = await start_assignment(
            client, stack.factory, stack.folder, queue, due_in=timedelta(minutes=10)
        )
        await eventually(lambda: _has(stack, assignment_id, "period_opened"))
        ack = ActionInput("fault-ack-2", stack.user_id, "承办人")
        await handle.execute_update(AssignmentWorkflow.acknowledge, ack, id=ack.key)
        assert stack.server.stop() == 0
        stack.server = await DevServer.start(db_file=stack.server.db_file, port=stack.server.port)

        client = await stack.client()
        handle = client.get_workflow_handle_for(AssignmentWorkflow.run, handle.id)
        status = await eventually(lambda: handle.query(AssignmentWorkflow.state), within=90)
        assert status.state == "acknowledged" and status.period_index == 0
        await _finish(handle, stack.user_id)
        final = await handle.result()
    finally:
        assert worker.stop() == 0
    assert final.completed
    _assert_each_step_once(stack, assignment_id)


async def _has(stack: Stack, assignment_id: int, kind: str) -> bool:
    return kind in audit_kinds(stack.factory, assignment_id)
