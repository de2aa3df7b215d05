"""The scheduler's jobs: read-model reconciliation against live workflow state queries."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from actions.temporal import connect
from cli.devserver import running_dev_server
from cli.jobs import RECONCILE_JOB_ID, SCORES_JOB_ID, build_scheduler, reconcile
from cli.worker import running_worker
from duban.db import make_engine, make_session_factory
from duban.models import Assignment, AuditEvent
from duban.services.policy import mark_started
from duban.settings import Settings
from tests.db import sqlite_url
from tests.faults.stack import audit_kinds, eventually, import_tiny_policy, start_assignment
from workflows.assignment import AssignmentWorkflow


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[Any, ...]]:
    async with running_dev_server(db_file=tmp_path / "temporal.sqlite3", port=None) as server:
        settings = Settings(
            data_dir=tmp_path,
            database_url=sqlite_url(tmp_path),
            temporal_address=server.address,
            task_queue=f"jobs-{uuid.uuid4().hex[:8]}",
            secret_key="jobs-test",
        )
        engine = make_engine(settings.sqlalchemy_url)
        factory = make_session_factory(engine)
        client = await connect(settings)
        async with running_worker(client, settings, factory, scheduler=False):
            yield client, settings, factory, tmp_path
        engine.dispose()


async def test_reconcile_rewrites_drifted_rows_once(live):
    client, settings, factory, folder = live
    handle, assignment_id = await start_assignment(
        client, factory, folder, settings.task_queue, due_in=timedelta(days=30)
    )
    await eventually(lambda: _opened(factory, assignment_id))
    status = await handle.query(AssignmentWorkflow.state)
    with factory.begin() as session:
        session.execute(
            update(Assignment)
            .where(Assignment.id == assignment_id)
            .values(state="approved", escalation_level=3, period_index=7)
        )

    report = await reconcile(client, factory)
    assert (report.checked, report.drifted, report.fixed, report.missing) == (1, 1, 1, 0)
    with factory() as session:
        row = session.get_one(Assignment, assignment_id)
        assert (row.state, row.escalation_level, row.period_index) == (
            status.state,
            status.escalation_level,
            status.period_index,
        )
        event = session.scalars(select(AuditEvent).where(AuditEvent.kind == "reconciled")).one()
    assert event.data["state"] == ["approved", status.state]

    again = await reconcile(client, factory)
    assert (again.checked, again.drifted, again.fixed) == (1, 0, 0)
    assert audit_kinds(factory, assignment_id).count("reconciled") == 1


async def test_reconcile_counts_started_rows_without_a_workflow(live):
    client, _settings, factory, folder = live
    row = import_tiny_policy(factory, folder)
    with factory.begin() as session:  # confirmed once, then its workflow was lost
        mark_started(session=session, policy_key=row.policy.key, item_numbers=[row.item_number])
    report = await reconcile(client, factory)
    assert (report.checked, report.missing, report.fixed, report.started) == (1, 1, 0, 0)


async def test_reconcile_starts_what_an_import_left_pending(live):
    client, settings, factory, folder = live
    row = import_tiny_policy(factory, folder)  # committed, never started (Temporal was down)
    assert row.pending_start
    report = await reconcile(client, factory, settings=settings)
    assert report.started == 1
    await eventually(lambda: _opened(factory, row.id))
    with factory() as session:
        assert not session.get_one(Assignment, row.id).pending_start
    again = await reconcile(client, factory, settings=settings)
    assert (again.started, again.checked, again.missing) == (0, 1, 0)


async def test_scheduler_registers_reconciliation_with_safe_options(live):
    client, settings, factory, _ = live
    scheduler = build_scheduler(client=client, settings=settings, session_factory=factory)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job(RECONCILE_JOB_ID)
        assert job is not None
        assert (job.coalesce, job.max_instances) == (True, 1)
        assert job.trigger.interval == timedelta(minutes=15)
        scores = scheduler.get_job(SCORES_JOB_ID)
        assert scores is not None
        assert (scores.coalesce, scores.max_instances) == (True, 1)
        assert scores.trigger.interval == timedelta(minutes=5)
    finally:
        scheduler.shutdown(wait=False)


async def _opened(factory, assignment_id: int) -> bool:
    return "period_opened" in audit_kinds(factory, assignment_id)
