"""Real processes for fault tests: a dev server, `duban worker` subprocesses, a tiny policy."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowHandle

from cli.importer import import_path
from duban.domain import assignment_workflow_id
from duban.models import Assignment, AuditEvent, Department, Submission
from duban.services.policy import mark_started
from workflows.assignment import AssignmentInput, AssignmentStatus, AssignmentWorkflow, PeriodSpec

T = TypeVar("T")
DUBAN = Path(sys.prefix) / "bin" / "duban"
POLICY_TEXT = "省委省政府关于故障测试的实施意见\n(2021年4月2日)\n一、重点任务\n(一)按期报送进展。(责任单位:省扶贫办)\n"


async def eventually(
    check: Callable[[], Awaitable[T]], *, within: float = 60, every: float = 0.2
) -> T:
    """Return the first truthy result of `check`, polling until `within` seconds pass."""
    deadline = time.monotonic() + within
    last: T | None = None
    error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            last = await check()
            error = None
            if last:
                return last
        except Exception as exc:  # the thing may not exist yet
            error = exc
        await asyncio.sleep(every)
    raise AssertionError(f"not true within {within}s: last={last!r} error={error!r}")


class WorkerProcess:
    """`duban worker` as a child process with its own environment and log file."""

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self.log_file = log_file
        self._log = log_file.open("ab")
        self.process = subprocess.Popen(
            [str(DUBAN), "worker"],
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def kill9(self) -> None:
        """Kill the worker without warning, as a crash or OOM would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self._log.close()

    def stop(self) -> int:
        """Stop the worker with SIGTERM and return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


def import_tiny_policy(factory: sessionmaker[Session], folder: Path) -> Assignment:
    """Import a one-item, one-department policy and return its assignment row."""
    path = folder / "fault-policy.txt"
    path.write_text(POLICY_TEXT, encoding="utf-8")
    result = import_path(factory, path)
    with factory() as session:
        return session.scalars(
            select(Assignment)
            .join(Assignment.policy)
            .where(Assignment.policy_id == result.policy_id)
        ).one()


def short_input(
    row: Assignment, policy_key: str, code: str, *, due_in: timedelta
) -> AssignmentInput:
    """Return the input of one period due in `due_in`, with a ladder of seconds."""
    due_at = datetime.now(UTC) + due_in
    return AssignmentInput(
        policy_key=policy_key,
        item_number=row.item_number,
        department_code=code,
        assignment_id=row.id,
        role=row.role,
        periods=[PeriodSpec(index=0, due_at=due_at, label="故障测试期")],
        reminder_offsets=[timedelta(seconds=2)],
        escalation_offsets=[timedelta(seconds=1), timedelta(seconds=3)],
    )


async def start_assignment(
    client: Client,
    factory: sessionmaker[Session],
    folder: Path,
    task_queue: str,
    *,
    due_in: timedelta,
) -> tuple[WorkflowHandle[AssignmentWorkflow, AssignmentStatus], int]:
    """Import the tiny policy and start its one AssignmentWorkflow; return the handle and row id."""
    row = import_tiny_policy(factory, folder)
    with factory() as session:
        code = session.get_one(Department, row.department_id).code
    key = row.policy.key
    handle = await client.start_workflow(
        AssignmentWorkflow.run,
        short_input(row, key, code, due_in=due_in),
        id=assignment_workflow_id(key, row.item_number, code),
        task_queue=task_queue,
    )
    with factory.begin() as session:  # started: the web may show it (as the starter does)
        mark_started(session=session, policy_key=key, item_numbers=[row.item_number])
    return handle, row.id


def audit_kinds(factory: sessionmaker[Session], assignment_id: int) -> list[str]:
    """Return the audit event kinds of an assignment in order."""
    with factory() as session:
        return list(
            session.scalars(
                select(AuditEvent.kind)
                .where(AuditEvent.assignment_id == assignment_id)
                .order_by(AuditEvent.id)
            )
        )


def submission_count(factory: sessionmaker[Session], assignment_id: int) -> int:
    """Return how many submissions an assignment has."""
    with factory() as session:
        return (
            session.scalar(select(func.count()).where(Submission.assignment_id == assignment_id))
            or 0
        )
