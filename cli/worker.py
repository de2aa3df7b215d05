"""The worker process: workflows, activities and the periodic-job scheduler against TEMPORAL_ADDRESS."""

from __future__ import annotations

import asyncio
import compileall
import logging
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

import workflows
from actions.temporal import connect, warm_converter
from activities.notify import NotifyActivities
from activities.read_model import ReadModelActivities
from cli.jobs import build_scheduler
from duban.db import make_engine, make_session_factory
from duban.leader import SchedulerLease
from duban.mailer import Mailer
from duban.migrate import upgrade
from duban.process import freeze_after_start_up
from duban.sdk_metrics import temporal_runtime
from duban.settings import Settings
from workflows.assignment import AssignmentWorkflow
from workflows.policy_task import PolicyTaskWorkflow

log = logging.getLogger(__name__)

ACTIVITY_THREADS = 16
# Workflow tasks the worker takes at once (the SDK's default is 100). A task's 10 s timeout runs
# from when the worker takes it, and each one taken runs in a thread of its own, all sharing one
# interpreter lock: the more taken, the longer each takes to finish, though no more finish per
# second. 10,000 starts on the bench rig (SQLite, 2026-12-03): 32 taken, 121 tasks over 5 s and
# 367 s of worker CPU until every period opened at 445 s; 8 taken, none over 5 s, 312 s of CPU,
# all opened at 405 s. (100 taken on PostgreSQL: 17 past their timeout.) Tasks not taken wait
# at the server, where no clock runs.
WORKFLOW_TASK_SLOTS = 8
WORKFLOWS: tuple[type, ...] = (PolicyTaskWorkflow, AssignmentWorkflow)


def activity_methods(*instances: object) -> list[Callable[..., Any]]:
    """Return the bound `@activity.defn` methods of each instance, in a stable order."""
    found: list[Callable[..., Any]] = []
    for instance in instances:
        for name in sorted(dir(type(instance))):
            attr = getattr(instance, name, None)
            if callable(attr) and hasattr(attr, "__temporal_activity_definition"):
                found.append(attr)
    return found


def precompile(*modules: ModuleType) -> None:
    """Write the bytecode of modules (or packages) the workflow sandbox imports for every run.

    Under PYTHONDONTWRITEBYTECODE=1 (or a fresh read-only checkout) the sandbox would compile
    workflows/*.py from source for each new run: 40% of the worker's CPU at 1,000 starts.
    """
    for module in modules:
        path = Path(module.__file__ or "")
        target = path.parent if path.name == "__init__.py" else path
        compiled = (
            compileall.compile_dir(target, quiet=2)
            if target.is_dir()
            else compileall.compile_file(target, quiet=2)
        )
        if not compiled:
            log.warning("could not precompile %s; workflow starts will be slower", target)


def make_mailer(settings: Settings) -> Mailer | None:
    """Return the SMTP mailer, or None when SMTP_URL is unset (mail stays in-app)."""
    return Mailer(settings.smtp_url, settings.mail_from) if settings.smtp_url else None


def build_worker(
    client: Client,
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    executor: ThreadPoolExecutor | None = None,
) -> Worker:
    """Return a worker on `settings.task_queue` with duban's workflows and activity classes."""
    activities = activity_methods(
        ReadModelActivities(session_factory),
        NotifyActivities(session_factory, make_mailer(settings)),
    )
    precompile(workflows)
    warm_converter(*WORKFLOWS, *activities)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities,
        activity_executor=executor or ThreadPoolExecutor(ACTIVITY_THREADS, "duban-activity"),
        max_concurrent_activities=ACTIVITY_THREADS,
        max_concurrent_workflow_tasks=WORKFLOW_TASK_SLOTS,
        max_cached_workflows=settings.worker_cache,
    )


@asynccontextmanager
async def running_worker(
    client: Client,
    settings: Settings,
    session_factory: sessionmaker[Session],
    *,
    scheduler: bool = True,
) -> AsyncIterator[Worker]:
    """Run the worker (and the scheduler) for the block, then shut both down cleanly."""
    with ThreadPoolExecutor(ACTIVITY_THREADS, "duban-activity") as executor:
        worker = build_worker(client, settings, session_factory, executor=executor)
        jobs = build_scheduler(client=client, settings=settings, session_factory=session_factory)
        lease = SchedulerLease(session_factory.kw["bind"])
        async with worker:
            every = settings.scheduler_retry_seconds
            waiting = asyncio.create_task(lead_when_free(lease, jobs, every)) if scheduler else None
            try:
                yield worker
            finally:
                if waiting is not None:
                    waiting.cancel()
                if jobs.running:
                    jobs.shutdown(wait=False)
                lease.release()


async def lead_when_free(lease: SchedulerLease, jobs: AsyncIOScheduler, every: float = 60) -> None:
    """Start the periodic jobs once this process holds the scheduler lease; keep trying."""
    tries = 0
    while not await asyncio.to_thread(lease.try_acquire):
        if tries == 0:  # said once: a standby worker's log stays quiet
            log.info("periodic jobs run in another worker; trying every %g s", every)
        tries += 1
        await asyncio.sleep(every)
    jobs.start()
    log.info("this worker runs the periodic jobs")


@contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Set `stop` on SIGINT or SIGTERM within the block, so shutdown runs on the loop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Migrate the database, connect to Temporal and run the worker until `stop` (or a signal)."""
    if stop is None:
        stop = asyncio.Event()
        with stop_on_signals(stop):
            await run_worker(settings, stop=stop)
        return
    engine = make_engine(settings.sqlalchemy_url, **settings.engine_options())
    await asyncio.to_thread(upgrade, engine)
    client = await connect(settings, runtime=temporal_runtime(settings))
    log.info("worker on %s, task queue %s", settings.temporal_address, settings.task_queue)
    try:
        async with running_worker(client, settings, make_session_factory(engine)):
            freeze_after_start_up()
            await stop.wait()
    finally:
        engine.dispose()
    log.info("worker stopped")


def main(settings: Settings) -> None:
    """Run the worker process (`duban worker`)."""
    asyncio.run(run_worker(settings))
