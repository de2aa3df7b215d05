"""The bench's rig: one dev server, a fresh read model, duban's worker and a bare worker; how it measures."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import resource
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from actions.temporal import connect, query_state
from bench import workflows as bare_workflows
from bench.timing import p95
from bench.workflows import BareParentWorkflow, BareWorkflow, bare_write
from cli.devserver import DevServer, running_dev_server
from cli.worker import precompile, running_worker
from duban.db import make_engine, make_session_factory
from duban.migrate import upgrade
from duban.services.user import ensure_admin
from duban.settings import Settings

log = logging.getLogger("bench")

BARE_QUEUE = "bench-bare"
# Long enough for `duban web` (bench (g) runs one), which refuses a weak key.
BENCH_SECRET = "bench-secret-" + "k" * 40
CONCURRENCY = 32
CALL_TIMEOUT = 30.0
# Quiet: over two 0.5 s windows in a row the dev server used under 5% of a core and this
# process (the workers, their activities, the client) under 15%.
IDLE_WINDOW = 0.5
IDLE_SERVER_SHARE = 0.05
IDLE_SELF_SHARE = 0.15
IDLE_WINDOWS = 2
IDLE_WITHIN = 300.0


@dataclass
class Rig:
    """One dev server, one database, duban's worker and a bare worker, for the whole run."""

    client: Client
    settings: Settings
    factory: sessionmaker[Session]
    user_id: int
    server: DevServer


def _cpu_seconds(pid: int) -> float | None:
    """Return the user + system CPU time of a process (Linux /proc), or None when unreadable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """Return the CPU time of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def idle(r: Rig) -> float:
    """Wait until neither the dev server nor the workers have work left; return seconds waited.

    Every phase starts from a quiet rig, so none pays for the backlog of the one before: a
    signal returns before the workflow task it causes runs, and a start leaves the first
    workflow task (with its read-model writes) to the worker.
    """
    started = time.monotonic()
    pid, quiet = r.server.process.pid, 0
    while quiet < IDLE_WINDOWS and time.monotonic() - started < IDLE_WITHIN:
        server, own = _cpu_seconds(pid), _own_cpu_seconds()
        await asyncio.sleep(IDLE_WINDOW)
        server_after = _cpu_seconds(pid)
        if server is None or server_after is None:
            return time.monotonic() - started  # no /proc: nothing to wait on
        calm = server_after - server < IDLE_SERVER_SHARE * IDLE_WINDOW
        calm = calm and _own_cpu_seconds() - own < IDLE_SELF_SHARE * IDLE_WINDOW
        quiet = quiet + 1 if calm else 0
    return time.monotonic() - started


async def count(client: Client, workflow_type: str) -> int:
    """Return how many workflows of a type the server's visibility knows."""
    return (await client.count_workflows(f"WorkflowType = '{workflow_type}'")).count


async def until_count(client: Client, workflow_type: str, target: int, within: float) -> int:
    """Poll until `target` workflows of a type are visible or `within` seconds pass; return the last count."""
    deadline = time.monotonic() + within
    seen = await count(client, workflow_type)
    while seen < target and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        seen = await count(client, workflow_type)
    return seen


async def bounded(
    calls: Sequence[Callable[[], Awaitable[object]]],
    concurrency: int = CONCURRENCY,
    *,
    each: list[float] | None = None,
) -> tuple[float, int]:
    """Run the calls, `concurrency` at a time, each within CALL_TIMEOUT; return (seconds, failures).

    `each`, when given, receives the seconds of every call that succeeded.
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[object]]) -> bool:
        async with gate:
            started = time.perf_counter()
            try:
                await asyncio.wait_for(call(), CALL_TIMEOUT)
            except Exception as exc:  # a failed or stuck call is counted, not fatal
                log.warning("bench call failed: %s", exc)
                return False
            if each is not None:
                each.append(time.perf_counter() - started)
            return True

    started = time.perf_counter()
    done = await asyncio.gather(*(one(c) for c in calls))
    return time.perf_counter() - started, done.count(False)


@dataclass
class Timed:
    """A round of calls: how many, how many failed, its wall seconds and the calls' seconds."""

    calls: int
    failed: int
    wall: float
    seconds: list[float]

    @property
    def rate(self) -> float:
        """Calls that succeeded per second of the round."""
        return rate(self.calls - self.failed, self.wall)

    @property
    def row(self) -> str:
        """The round's cells of a report's table: calls, failed, seconds, per second, p95 (ms)."""
        tail = f"{p95(self.seconds):.0f}" if self.seconds else "—"
        return f"{self.calls} | {self.failed} | {self.wall:.2f} | {self.rate:.1f} | {tail}"


@dataclass(frozen=True)
class Spent:
    """The CPU seconds a round cost each process, from its first call until the rig was quiet
    again (so the work its calls left behind counts too): the web process (when one served
    the round), this process (workers, activities, clients) and the Temporal server."""

    web: float
    rig: float
    server: float

    def per_call_ms(self, calls: int) -> tuple[float, float, float, float]:
        """Return (web, rig, server, total) in CPU milliseconds per call."""
        each = 1000 / max(1, calls)
        total = self.web + self.rig + self.server
        return (self.web * each, self.rig * each, self.server * each, total * each)


def _spent_now(r: Rig, web_pid: int | None) -> tuple[float, float, float]:
    web = (_cpu_seconds(web_pid) or 0.0) if web_pid is not None else 0.0
    return (web, _own_cpu_seconds(), _cpu_seconds(r.server.process.pid) or 0.0)


async def metered(
    r: Rig, run: Callable[[], Awaitable[Timed]], *, web_pid: int | None = None
) -> tuple[Timed, Spent]:
    """Run a round on a quiet rig (the caller's first round waits for one; each round leaves
    it quiet), wait until it is quiet again; return the round and the CPU it cost each process
    (the quiet wait adds at most ~0.2 CPU seconds)."""
    before = _spent_now(r, web_pid)
    timed = await run()
    await idle(r)
    after = _spent_now(r, web_pid)
    return timed, Spent(*(b - a for a, b in zip(before, after, strict=True)))


async def bare_update(r: Rig, workflow_id: str, key: str, *, durable: bool) -> int:
    """One bare Update with `key` as its id and argument: answered in the workflow's first task,
    or `durable`, of duban's shape (its acceptance stored before a scheduled no-op activity)."""
    update = BareWorkflow.bump_durable if durable else BareWorkflow.bump
    return await r.client.get_workflow_handle(workflow_id).execute_update(update, key, id=key)


async def cached(r: Rig, workflow_ids: Sequence[str]) -> None:
    """Have duban's worker run each of these workflows once (a query), then wait for a quiet
    rig: the timed Updates that follow find them in the worker's cache, as they find the bare
    workflows they are compared with (which the calls before them left there)."""
    await bounded([functools.partial(query_state, r.client, w) for w in workflow_ids])
    await idle(r)


def rate(n: int, seconds: float) -> float:
    """Return n per second (0 when nothing was measured)."""
    return n / seconds if seconds > 0 else 0.0


@asynccontextmanager
async def rig(workdir: Path, *, cache: int | None = None) -> AsyncIterator[Rig]:
    """Start a headless dev server on a free port, a fresh SQLite database and both workers
    (each caching `cache` runs; by default the setting's)."""
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            running_dev_server(db_file=workdir / "temporal.sqlite3", port=None)
        )
        settings = Settings(
            data_dir=workdir,
            temporal_address=server.address,
            task_queue="duban-bench",
            secret_key=BENCH_SECRET,
        )
        if cache is not None:
            settings = settings.model_copy(update={"worker_cache": cache})
        engine = make_engine(settings.sqlalchemy_url)
        stack.callback(engine.dispose)
        await asyncio.to_thread(upgrade, engine)
        factory = make_session_factory(engine)
        with factory.begin() as session:
            user, _ = ensure_admin(session=session, password="bench-password")
        client = await connect(settings)
        await stack.enter_async_context(running_worker(client, settings, factory, scheduler=False))
        precompile(bare_workflows)  # like duban's worker, so both sandboxes pay the same
        await stack.enter_async_context(
            Worker(
                client,
                task_queue=BARE_QUEUE,
                workflows=[BareWorkflow, BareParentWorkflow],
                activities=[bare_write],
                max_cached_workflows=settings.worker_cache,
            )
        )
        yield Rig(client, settings, factory, user.id, server)
