"""The worker registers every workflow and every `@activity.defn` method of the activity classes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from actions.temporal import DATA_CONVERTER, connect, warm_converter
from activities.notify import NotifyActivities
from activities.read_model import ReadModelActivities
from cli.devserver import running_dev_server
from cli.worker import WORKFLOWS, activity_methods, build_worker, lead_when_free, make_mailer
from duban.db import make_engine, make_session_factory
from duban.leader import SchedulerLease
from duban.mailer import Mailer
from duban.messages import RecordInput
from duban.settings import Settings
from tests.polling import eventually
from workflows.assignment import AssignmentWorkflow
from workflows.assignment_messages import ActionInput, ActionResult, AssignmentInput
from workflows.policy_task import PolicyTaskInput, PolicyTaskWorkflow


def test_activity_methods_are_bound_and_complete(tmp_path: Path):
    factory = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}"))
    read_model, notify = ReadModelActivities(factory), NotifyActivities(factory)
    found = activity_methods(read_model, notify)
    names = {fn.__name__ for fn in found}
    assert {"begin", "record", "notify"} <= names
    assert all(getattr(fn, "__self__", None) in (read_model, notify) for fn in found)
    assert activity_methods(object()) == []


def test_warm_converter_covers_the_message_types_of_the_worker(tmp_path: Path):
    factory = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}"))
    activities = activity_methods(ReadModelActivities(factory), NotifyActivities(factory))
    warmed = warm_converter(*WORKFLOWS, *activities)
    # Run inputs, Update inputs and results, activity inputs: each schema is built here, once.
    assert {AssignmentInput, ActionInput, ActionResult, PolicyTaskInput, RecordInput} <= warmed
    # Helpers' hints that are no payload type (a coroutine, NoReturn) are passed over.
    assert warm_converter(*WORKFLOWS, *activities) == warmed
    # The converter the worker uses decodes with what was built.
    action = ActionInput("k-1", 7, "张三")
    payloads = DATA_CONVERTER.payload_converter.to_payloads([action])
    assert DATA_CONVERTER.payload_converter.from_payloads(payloads, [ActionInput]) == [action]


def test_mailer_only_with_smtp_url():
    assert make_mailer(Settings(secret_key="x")) is None
    mailer = make_mailer(Settings(secret_key="x", smtp_url="smtp://127.0.0.1:2525"))
    assert isinstance(mailer, Mailer) and mailer.target.port == 2525


async def test_build_worker_on_the_task_queue(tmp_path: Path):
    assert set(WORKFLOWS) == {PolicyTaskWorkflow, AssignmentWorkflow}
    async with running_dev_server(db_file=tmp_path / "t.sqlite3", port=None) as server:
        settings = Settings(
            temporal_address=server.address, task_queue="q-worker-test", secret_key="x"
        )
        client = await connect(settings)
        factory = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}"))
        worker = build_worker(client, settings, factory)
        assert worker.task_queue == "q-worker-test"
        assert worker.client is client


class CountingLease(SchedulerLease):
    """The real lease, counting how often its worker tried to take it."""

    tries = 0

    def try_acquire(self) -> bool:
        """Try the real lock and count the try."""
        self.tries += 1
        return super().try_acquire()


async def test_periodic_jobs_run_in_one_worker_and_move_when_it_stops(db_url: str) -> None:
    """Two workers contend for the lease: one runs the jobs while the other keeps trying and
    is refused (its tries are counted, so the test cannot pass without them); when the leader
    stops, the other takes over. SQLite (file lock) and PostgreSQL (advisory lock)."""
    engines = [make_engine(db_url) for _ in range(2)]
    leases = [CountingLease(engine) for engine in engines]
    jobs = [AsyncIOScheduler(), AsyncIOScheduler()]
    tasks = [
        asyncio.create_task(lead_when_free(lease, j, every=0.02))
        for lease, j in zip(leases, jobs, strict=True)
    ]
    try:
        await asyncio.wait_for(asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED), 10)
        leader = [j.running for j in jobs].index(True)
        other = 1 - leader
        # The other worker tries again and again while the leader holds the lease.
        since = leases[other].tries

        async def tried_again() -> bool:
            return leases[other].tries >= since + 3

        await eventually(tried_again, within=10)
        assert [j.running for j in jobs] == [i == leader for i in range(2)]
        assert [lease.held for lease in leases] == [i == leader for i in range(2)]
        assert not tasks[other].done()
        # The leader stops: the other takes the lease on its next try.
        jobs[leader].shutdown(wait=False)
        leases[leader].release()
        await asyncio.wait_for(tasks[other], 10)
        assert jobs[other].running and leases[other].held
    finally:
        for task in tasks:
            task.cancel()
        for j in jobs:
            if j.running:
                j.shutdown(wait=False)
        for lease in leases:
            lease.release()
        for engine in engines:
            engine.dispose()
