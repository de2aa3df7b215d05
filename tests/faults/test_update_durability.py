"""An Update's write follows the server's stored acceptance: a Temporal restart leaves no phantom.

The server keeps an Update in memory until the workflow task that accepts it completes. Here
every acknowledge's read-model write is held at the database's door (the worker's session
factory waits while the test holds the gate) until the Update is in flight and its write has
begun; then the dev server restarts on its SQLite file, the clients give up and never send
again, and the writes go through. Every step the read model and the audit trail hold must be
an Update the workflow history accepted, and each accepted Update completes with one step.
When the first write ran inside the accepting workflow task (a local activity, before
ACCEPT_BEFORE_WRITE), every one of these steps was a phantom: written, never accepted.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from actions.temporal import connect
from bench.drill import UpdateTrace, history_trace
from bench.drill_stack import department_names, drill_text, until_all_open
from cli.devserver import DevServer, free_port
from cli.importer import import_path
from cli.worker import running_worker
from duban.db import make_engine, make_session_factory
from duban.domain import assignment_workflow_id
from duban.models import Assignment, AuditEvent
from duban.services.policy import mark_started
from duban.services.user import ensure_admin
from duban.settings import Settings
from tests.faults.stack import eventually, short_input
from workflows.assignment import ActionInput, AssignmentWorkflow

N = 6  # assignments, one acknowledge each
HOLD = 120.0  # seconds a held write waits at most (the test fails long before)


class Gate:
    """While closed, every read-model transaction of the worker waits before it begins."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self.waiting = 0
        self.passed = 0

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    @contextmanager
    def door(self) -> Iterator[None]:
        """Wait while closed; count the transactions held and those done after."""
        if self._open.is_set():
            yield
            return
        with self._lock:
            self.waiting += 1
        if not self._open.wait(HOLD):
            raise TimeoutError("the gate stayed closed")
        yield
        with self._lock:
            self.passed += 1


class GatedFactory(sessionmaker[Session]):
    """The worker's session factory, real database and all, with a gate before each write."""

    gate: Gate

    @contextmanager
    def begin(self) -> Iterator[Session]:
        with self.gate.door(), super().begin() as session:
            yield session


def _seed(factory: sessionmaker[Session], folder: Path) -> list[Assignment]:
    """Import a one-item policy for N departments; return its assignment rows."""
    path = folder / "durability-policy.txt"
    path.write_text(drill_text(N, department_names()[:N]), encoding="utf-8")
    result = import_path(factory, path)
    with factory() as session:
        rows = session.scalars(
            select(Assignment).where(Assignment.policy_id == result.policy_id)
        ).all()
        for row in rows:
            _ = row.policy.key, row.department.code  # loaded while the session is open
        return list(rows)


async def _start(
    client: Client, factory: sessionmaker[Session], rows: list[Assignment], queue: str
) -> dict[int, str]:
    """Start one AssignmentWorkflow per row (period due in 30 days); return their ids."""
    ids: dict[int, str] = {}
    for row in rows:
        key, code = row.policy.key, row.department.code
        wf_id = assignment_workflow_id(key, row.item_number, code)
        await client.start_workflow(
            AssignmentWorkflow.run,
            short_input(row, key, code, due_in=timedelta(days=30)),
            id=wf_id,
            task_queue=queue,
        )
        ids[row.id] = wf_id
    with factory.begin() as session:
        mark_started(
            session=session, policy_key=rows[0].policy.key, item_numbers=[rows[0].item_number]
        )
    return ids


def _acknowledged(factory: sessionmaker[Session], ids: list[int]) -> dict[int, list[str]]:
    """Return the `acknowledged` audit keys of each assignment."""
    found: dict[int, list[str]] = {aid: [] for aid in ids}
    with factory() as session:
        for aid, key in session.execute(
            select(AuditEvent.assignment_id, AuditEvent.key).where(
                AuditEvent.assignment_id.in_(ids), AuditEvent.kind == "acknowledged"
            )
        ):
            assert aid is not None
            found[aid].append(key)
    return found


async def test_restart_mid_update_leaves_no_phantom(
    settings: Settings, db_url: str, tmp_path: Path
) -> None:
    server = await DevServer.start(db_file=tmp_path / "temporal.sqlite3", port=free_port())
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    gated = GatedFactory(engine, expire_on_commit=False)
    gated.gate = gate = Gate()
    tuned = settings.model_copy(update={"task_queue": f"durable-{uuid.uuid4().hex[:8]}"})
    with factory.begin() as session:
        actor, _ = ensure_admin(session=session, password="durability-test-pw")
    try:
        client = await connect(Settings(temporal_address=server.address))
        async with running_worker(client, tuned, gated, scheduler=False):
            rows = _seed(factory, tmp_path)
            workflows = await _start(client, factory, rows, tuned.task_queue)
            ids = list(workflows)
            await until_all_open(factory, ids, stall=60)

            gate.close()
            keys = {aid: f"durable-ack-{aid}" for aid in ids}
            calls = [
                asyncio.create_task(
                    client.get_workflow_handle(workflows[aid]).execute_update(
                        AssignmentWorkflow.acknowledge,
                        ActionInput(keys[aid], actor.id, "承办人"),
                        id=keys[aid],
                    )
                )
                for aid in ids
            ]
            # Every Update's write has begun (and waits at the gate) before the server stops.
            await eventually(lambda: _at_least(gate, "waiting", N), within=60)
            assert not any(c.done() for c in calls)
            db_file, port = server.db_file, server.port
            await asyncio.to_thread(server.stop)
            for call in calls:  # the clients give up and never send again
                call.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
            server = await DevServer.start(db_file=db_file, port=port)
            gate.open()
            await eventually(lambda: _at_least(gate, "passed", N), within=60)

            client = await connect(Settings(temporal_address=server.address))

            # No phantom: every step written is an Update the history accepted, already now
            # (the acceptance was stored before the write began).
            traces = await _traces(client, workflows)
            written = await asyncio.to_thread(_acknowledged, factory, ids)
            for aid in ids:
                steps = written[aid]
                assert steps == [k for k in steps if k.endswith(keys[aid])], (aid, steps)
                assert len(steps) <= 1, (aid, steps)
                assert not steps or traces[aid].accepted[keys[aid]] == 1, (aid, steps, traces[aid])

            async def settled() -> bool:
                """Each Update was accepted once and completes with its one step: none lost."""
                traces = await _traces(client, workflows)
                written = await asyncio.to_thread(_acknowledged, factory, ids)
                return all(
                    traces[aid].accepted[keys[aid]] == 1
                    and traces[aid].outcomes.get(keys[aid])
                    and len(written[aid]) == 1
                    for aid in ids
                )

            assert await eventually(settled, within=90, every=1.0)
            with factory() as session:
                states = session.scalars(select(Assignment.state).where(Assignment.id.in_(ids)))
                assert set(states) == {"acknowledged"}
    finally:
        gate.open()
        server.stop()
        engine.dispose()


async def _traces(client: Client, workflows: dict[int, str]) -> dict[int, UpdateTrace]:
    return {aid: await history_trace(client, wf_id) for aid, wf_id in workflows.items()}


async def _at_least(gate: Gate, what: str, n: int) -> bool:
    return int(getattr(gate, what)) >= n
