"""`python -m bench`: duban's workflow starts and Update round trips beside bare Temporal; writes bench/report.md."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import tempfile
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Row, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

import policies
from bench import workflows as bare_workflows
from bench.workflows import BareInput, BareWorkflow
from duban.db import make_engine, make_session_factory
from duban.devserver import running_dev_server
from duban.importer import import_path
from duban.migrate import upgrade
from duban.models import Assignment, AuditEvent
from duban.services.user import ensure_admin
from duban.settings import Settings
from duban.starter import start_policy
from duban.temporal import acknowledge, connect
from duban.worker import MAX_CACHED_WORKFLOWS, precompile, running_worker
from workflows.assignment import ActionInput

log = logging.getLogger("bench")

HERE = Path(__file__).resolve().parent
POLICY_DIR = Path(policies.__file__).resolve().parent
JILIN = POLICY_DIR / "jilin-2021-consolidation-revitalization.txt"
BARE_QUEUE = "bench-bare"
CONCURRENCY = 32
CALL_TIMEOUT = 30.0
START_RATIO_TARGET = 0.8
UPDATE_RATIO_TARGET = 0.5
DIGITS = "零一二三四五六七八九"


@dataclass
class Rig:
    """One dev server, one database, duban's worker and a bare worker, for the whole run."""

    client: Client
    settings: Settings
    factory: sessionmaker[Session]
    user_id: int


def chinese(n: int) -> str:
    """Return 1..999 as a Chinese numeral (一, 十二, 一百零五)."""
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    out = f"{DIGITS[hundreds]}百" if hundreds else ""
    if tens:
        out += ("" if tens == 1 and not hundreds else DIGITS[tens]) + "十"
    elif hundreds and ones:
        out += "零"
    return out + (DIGITS[ones] if ones else "")


def synthetic_text(assignments: int, per_item: int = 50) -> str:
    """Return a document in the Jilin genre whose items name `assignments` unit slots in all."""
    names = [
        d["name"]
        for d in tomllib.loads((POLICY_DIR / "departments.toml").read_text())["department"]
    ]
    per_item = min(per_item, len(names), assignments)
    lines = ["省委省政府关于基准测试的实施意见", "(2021年4月2日)", "一、重点任务"]
    number, left = 0, assignments
    while left > 0:
        number += 1
        units = "、".join(names[: min(per_item, left)])
        lines.append(f"({chinese(number)})第{number}项任务。按期推进并报送进展。(责任单位:{units})")
        left -= min(per_item, left)
    return "\n".join(lines) + "\n"


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
    calls: Sequence[Callable[[], Awaitable[object]]], concurrency: int = CONCURRENCY
) -> tuple[float, int]:
    """Run the calls, `concurrency` at a time, each within CALL_TIMEOUT; return (seconds, failures)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[object]]) -> bool:
        async with gate:
            try:
                await asyncio.wait_for(call(), CALL_TIMEOUT)
            except Exception as exc:  # a failed or stuck call is counted, not fatal
                log.warning("bench call failed: %s", exc)
                return False
            return True

    started = time.perf_counter()
    done = await asyncio.gather(*(one(c) for c in calls))
    return time.perf_counter() - started, done.count(False)


@asynccontextmanager
async def rig(workdir: Path) -> AsyncIterator[Rig]:
    """Start a headless dev server on a free port, a fresh SQLite database and both workers."""
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            running_dev_server(db_file=workdir / "temporal.sqlite3", port=None)
        )
        settings = Settings(
            data_dir=workdir,
            temporal_address=server.address,
            task_queue="duban-bench",
            secret_key="bench",
        )
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
                workflows=[BareWorkflow],
                max_cached_workflows=MAX_CACHED_WORKFLOWS,
            )
        )
        yield Rig(client, settings, factory, user.id)


async def start_document(r: Rig, path: Path) -> tuple[float, float, int, int]:
    """Import a document and start its workflows; return (import s, start s, running, assignments)."""
    before = await count(r.client, "AssignmentWorkflow")
    started = time.perf_counter()
    result = await asyncio.to_thread(import_path, r.factory, path)
    imported = time.perf_counter() - started
    await start_policy(
        r.client, session_factory=r.factory, settings=r.settings, policy_key=result.policy_key
    )
    expected = result.assignments
    seen = await until_count(
        r.client, "AssignmentWorkflow", before + expected, within=60 + expected / 10
    )
    return imported, time.perf_counter() - started - imported, seen - before, expected


async def start_bare(r: Rig, n: int) -> tuple[float, int]:
    """Start `n` bare workflows; return (seconds until all are visible, how many are)."""
    calls = [
        lambda i=i: r.client.start_workflow(
            BareWorkflow.run, BareInput(2), id=f"bare:{i}", task_queue=BARE_QUEUE
        )
        for i in range(n)
    ]
    started = time.perf_counter()
    await bounded(calls)  # failures show as fewer visible workflows
    seen = await until_count(r.client, "BareWorkflow", n, within=60 + n / 10)
    return time.perf_counter() - started, seen


def ready_assignments(factory: sessionmaker[Session], n: int) -> list[Row[int, str]]:
    """Return up to `n` assignments whose first period has opened (so 签收 is allowed)."""
    opened = select(AuditEvent.assignment_id).where(AuditEvent.kind == "period_opened")
    with factory() as session:
        query = select(Assignment.id, Assignment.workflow_id).where(Assignment.id.in_(opened))
        return list(session.execute(query.order_by(Assignment.id).limit(n)).all())


def rate(n: int, seconds: float) -> float:
    """Return n per second (0 when nothing was measured)."""
    return n / seconds if seconds > 0 else 0.0


def verdict(ratio: float, target: float) -> str:
    """Return the Markdown verdict of a ratio against its target."""
    return f"**{ratio:.2f}** (target ≥ {target}) — {'met' if ratio >= target else 'BELOW TARGET'}"


async def starts_section(r: Rig, n: int, workdir: Path, lines: list[str]) -> None:
    """Append section (a): imports and workflow starts beside bare starts."""
    jilin_import, jilin_start, jilin_seen, jilin_n = await start_document(r, JILIN)
    synthetic = workdir / "synthetic-bench-policy.txt"
    synthetic.write_text(synthetic_text(n), encoding="utf-8")
    syn_import, syn_start, syn_seen, _ = await start_document(r, synthetic)
    bare_s, bare_seen = await start_bare(r, n)
    duban_rate, bare_rate = rate(syn_seen, syn_start), rate(bare_seen, bare_s)
    ratio = duban_rate / bare_rate if bare_rate else 0.0
    lines += [
        "## (a) Import and workflow starts",
        "",
        "| what | assignments / workflows | import (s) | start until running (s) | workflows per second |",
        "|---|---:|---:|---:|---:|",
        f"| Jilin document | {jilin_seen}/{jilin_n} | {jilin_import:.2f} | {jilin_start:.2f} | — |",
        f"| synthetic policy | {syn_seen}/{n} | {syn_import:.2f} | {syn_start:.2f} | {duban_rate:.1f} |",
        f"| bare Temporal workflow | {bare_seen}/{n} | — | {bare_s:.2f} | {bare_rate:.1f} |",
        "",
        f"AssignmentWorkflow / bare workflow starts per second: {verdict(ratio, START_RATIO_TARGET)}",
        "",
    ]


async def updates_section(r: Rig, n: int, lines: list[str]) -> None:
    """Append section (b): acknowledge Update round trips beside bare signals."""
    ids = ready_assignments(r.factory, n)
    acks = [
        lambda a=a: acknowledge(
            r.client, a.workflow_id, ActionInput(f"bench-ack-{a.id}", r.user_id, "bench")
        )
        for a in ids
    ]
    update_s, update_failed = await bounded(acks)
    pokes = [
        lambda i=i: r.client.get_workflow_handle(f"bare:{i}").signal(
            BareWorkflow.poke, f"bench-{i}"
        )
        for i in range(len(ids))
    ]
    signal_s, signal_failed = await bounded(pokes)
    bumps = [
        lambda i=i: r.client.get_workflow_handle(f"bare:{i}").execute_update(
            BareWorkflow.bump, f"bench-{i}", id=f"bump-{i}"
        )
        for i in range(len(ids))
    ]
    bump_s, bump_failed = await bounded(bumps)
    update_rate = rate(len(acks) - update_failed, update_s)
    signal_rate = rate(len(pokes) - signal_failed, signal_s)
    lines += [
        "## (b) Update round trips",
        "",
        "| what | calls | failed | seconds | per second |",
        "|---|---:|---:|---:|---:|",
        f"| duban `acknowledge` Update (validated, recorded) | {len(acks)} | {update_failed} | {update_s:.2f} | {update_rate:.1f} |",
        f"| bare signal | {len(pokes)} | {signal_failed} | {signal_s:.2f} | {signal_rate:.1f} |",
        f"| bare Update (reference: no write) | {len(bumps)} | {bump_failed} | {bump_s:.2f} | {rate(len(bumps) - bump_failed, bump_s):.1f} |",
        "",
        f"Update / signal ratio: {verdict(update_rate / signal_rate if signal_rate else 0.0, UPDATE_RATIO_TARGET)}",
        "",
    ]


def scoring_section(lines: list[str]) -> None:
    """Append section (c) from bench/scoring.py when it exists."""
    if importlib.util.find_spec("bench.scoring") is None:
        lines += ["## (c) Scoring", "", "bench/scoring.py is not there yet.", ""]
        return
    from bench import scoring

    scoring.run(lines)


async def run(assignments: int, updates: int, *, scoring: bool = True) -> list[str]:
    """Run every section with the given sizes and return the report's lines."""
    lines = [
        f"# duban benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Embedded Temporal dev server (SQLite), SQLite read model, loopback only; concurrency {CONCURRENCY}.",
        "",
        "Both start rows time the same thing: from the first start call until the server's visibility",
        "counts every workflow as started. duban's go through one PolicyTaskWorkflow per task, which",
        "starts them as children; the bare ones are started by the client directly.",
        "",
    ]
    with tempfile.TemporaryDirectory(prefix="duban-bench-") as tmp:
        async with rig(Path(tmp)) as r:
            await starts_section(r, assignments, Path(tmp), lines)
            await updates_section(r, updates, lines)
    if scoring:
        scoring_section(lines)
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the bench, write bench/report.md and print it."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--assignments", type=int, default=10_000)
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--out", type=Path, default=HERE / "report.md")
    parser.add_argument("--no-scoring", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    lines = asyncio.run(run(args.assignments, args.updates, scoring=not args.no_scoring))
    text = "\n".join(lines) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(text)  # noqa: T201 - the report is the program's output


if __name__ == "__main__":
    main()
