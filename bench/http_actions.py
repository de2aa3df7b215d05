"""Bench (g): human actions over HTTP (`/api/v1`) beside bare Temporal Updates, in one rig.

The web app runs as a deployment runs it, a `duban web` process of its own on loopback, on
the rig's read model and dev server (the rig's process keeps the workers and the clients);
20 clients at once acknowledge, then submit, then approve the same set of running
assignments. Beside each action, the rig's Temporal client drives as many bare Updates (no
database, no HTTP) at the same concurrency against bare workflows on the same dev server.
"""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.rig import BARE_QUEUE, Rig, Spent, Timed, bare_update, cached, idle, metered
from bench.timing import p95
from bench.workflows import BareInput, BareWorkflow
from cli.devserver import free_port
from duban.db import utcnow
from duban.models import Assignment, AuditEvent, Department
from duban.services import two_factor
from duban.services.user import create_user

CLIENTS = 20
RATIO_TARGET = 0.7
PASSWORD = "bench-Actions-42"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
ACTIONS = ("acknowledge", "submit", "approve")
DUBAN = Path(sys.prefix) / "bin" / "duban"
WEB_START_WITHIN = 60.0


async def concurrently(calls: Sequence[Callable[[], Awaitable[bool]]], clients: int) -> Timed:
    """Run the calls `clients` at a time; each returns whether it succeeded."""
    gate = asyncio.Semaphore(clients)
    seconds: list[float] = []

    async def one(call: Callable[[], Awaitable[bool]]) -> bool:
        async with gate:
            started = time.perf_counter()
            try:
                ok = await call()
            except Exception:  # counted, not fatal
                ok = False
            seconds.append(time.perf_counter() - started)
            return ok

    started = time.perf_counter()
    done = await asyncio.gather(*(one(c) for c in calls))
    return Timed(len(calls), done.count(False), time.perf_counter() - started, seconds)


def fresh_assignments(factory: sessionmaker[Session], n: int) -> list[tuple[int, str, str]]:
    """Return up to `n` (assignment id, department code, workflow id) not yet acknowledged,
    period open."""
    opened = select(AuditEvent.assignment_id).where(AuditEvent.kind == "period_opened")
    with factory() as session:
        q = (
            select(Assignment.id, Department.code, Assignment.workflow_id)
            .join(Department, Department.id == Assignment.department_id)
            .where(Assignment.id.in_(opened), Assignment.state == "assigned")
            .order_by(Assignment.id.desc())
            .limit(n)
        )
        return [(int(a), str(c), str(w)) for a, c, w in session.execute(q).all()]


def add_people(factory: sessionmaker[Session], codes: set[str], key: str) -> None:
    """One staff member per department and a supervisor (with a TOTP factor)."""
    with factory.begin() as s:
        for code in sorted(codes):
            create_user(
                session=s,
                username=f"bench-http-{code}",
                password=PASSWORD,
                role="staff",
                department_code=code,
            )
        sup = create_user(
            session=s, username="bench-http-sup", password=PASSWORD, role="supervisor"
        )
        two_factor.store_secret(session=s, user=sup, secret=SECRET, key=key)
        sup.totp_enabled_at = utcnow()


async def token(c: httpx.AsyncClient, username: str, otp: str | None = None) -> dict[str, str]:
    """Return Authorization headers for a fresh bearer token."""
    body = {"username": username, "password": PASSWORD, "otp": otp}
    r = await c.post("/api/v1/auth/token", json=body)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@asynccontextmanager
async def web_process(r: Rig) -> AsyncIterator[tuple[str, int]]:
    """Run `duban web` on a free loopback port against the rig's database and dev server;
    yield its base URL and process id once `/healthz` answers. Its log goes to the rig's data
    folder."""
    port = free_port()
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": r.settings.temporal_address or "",
        "DATABASE_URL": r.settings.sqlalchemy_url,
        "DUBAN_DATA_DIR": str(r.settings.data_dir),
        "DUBAN_TASK_QUEUE": r.settings.task_queue,
        "DUBAN_SECRET_KEY": r.settings.secret_key,
    }
    url = f"http://127.0.0.1:{port}"
    with (r.settings.data_dir / "bench-web.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            str(DUBAN),
            "web",
            "--port",
            str(port),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + WEB_START_WITHIN
        async with httpx.AsyncClient(base_url=url, timeout=2) as c:
            while True:
                if process.returncode is not None:
                    raise RuntimeError(
                        f"duban web exited ({process.returncode}); see bench-web.log"
                    )
                try:
                    if (await c.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("duban web did not answer /healthz within 60 s")
                await asyncio.sleep(0.2)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def bare_round(r: Rig, n: int, round_: int, *, durable: bool = False) -> Timed:
    """`n` bare Updates from the rig's client, CLIENTS at a time; `durable`: of duban's shape
    (the acceptance stored before a scheduled activity), else answered in the first task."""
    tag = f"{'d' if durable else 'b'}{round_}"

    async def bump(i: int) -> bool:
        await bare_update(r, f"bare-http:{i}", f"{tag}-{i}", durable=durable)
        return True

    return await concurrently([functools.partial(bump, i) for i in range(n)], CLIENTS)


Round = tuple[Timed, Spent]


async def measure(r: Rig, n: int) -> tuple[int, dict[str, tuple[Round, Round, Round]]]:
    """Run the three actions on up to `n` assignments, each beside a round of bare Updates."""
    rows = fresh_assignments(r.factory, n)
    n = len(rows)
    await asyncio.to_thread(
        add_people, r.factory, {code for _, code, _ in rows}, r.settings.secret_key
    )
    for i in range(n):  # bare workflows that take two Updates per action, then complete
        await r.client.start_workflow(
            BareWorkflow.run,
            BareInput(2 * len(ACTIONS)),
            id=f"bare-http:{i}",
            task_queue=BARE_QUEUE,
        )
    # In the worker's cache, as the bare workflows just started are.
    await cached(r, [w for _, _, w in rows])
    out: dict[str, tuple[Round, Round, Round]] = {}
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with (
        web_process(r) as (url, pid),
        httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as c,
    ):
        heads = {code: await token(c, f"bench-http-{code}") for code in {k for _, k, _ in rows}}
        sup = await token(c, "bench-http-sup", pyotp.TOTP(SECRET).now())

        async def post(path: str, body: dict[str, object], headers: dict[str, str]) -> bool:
            response = await c.post(path, json=body, headers=headers)
            return response.status_code in (200, 201)

        bodies: dict[str, Callable[[int, str], tuple[str, dict[str, object], dict[str, str]]]] = {
            "acknowledge": lambda a, code: (
                f"/api/v1/assignments/{a}/acknowledge",
                {"key": f"http-ack-{a}"},
                heads[code],
            ),
            "submit": lambda a, code: (
                f"/api/v1/assignments/{a}/submissions",
                {"key": f"http-sub-{a}", "report": "本季度按期推进。"},
                heads[code],
            ),
            "approve": lambda a, code: (
                f"/api/v1/assignments/{a}/review",
                {"key": f"http-rev-{a}", "decision": "approve", "rating": 4},
                sup,
            ),
        }
        await idle(r)  # the sign-ins above; every metered round then ends quiet
        for round_, action in enumerate(ACTIONS):
            bare = await metered(r, functools.partial(bare_round, r, n, round_), web_pid=pid)
            durable = await metered(
                r, functools.partial(bare_round, r, n, round_, durable=True), web_pid=pid
            )
            calls = [functools.partial(post, *bodies[action](a, code)) for a, code, _ in rows]
            http = await metered(r, functools.partial(concurrently, calls, CLIENTS), web_pid=pid)
            out[action] = (http, bare, durable)
    return n, out


def _verdict(ratio: float, http: Timed) -> str:
    return "met" if ratio >= RATIO_TARGET and not http.failed else "BELOW TARGET"


async def run(r: Rig, n: int, lines: list[str]) -> None:
    """Append section (g) to the report."""
    n, out = await measure(r, n)
    rows, costs = [], []
    for action, ((http, http_cpu), (bare, bare_cpu), (durable, durable_cpu)) in out.items():
        for what, spent in (
            (f"{action} over HTTP", http_cpu),
            ("bare Update", bare_cpu),
            ("durable bare Update", durable_cpu),
        ):
            web, rig, server, total = spent.per_call_ms(n)
            costs.append(f"| {what} | {web:.1f} | {rig:.1f} | {server:.1f} | {total:.1f} |")
        ratio = http.rate / bare.rate if bare.rate else 0.0
        fair = http.rate / durable.rate if durable.rate else 0.0

        rows.append(
            f"| {action} | {n} | {http.failed} | {http.rate:.1f} | {p95(http.seconds):.0f} "
            f"| {bare.rate:.1f} | {p95(bare.seconds):.0f} "
            f"| {durable.rate:.1f} | {p95(durable.seconds):.0f} "
            f"| **{ratio:.2f}** ({_verdict(ratio, http)}) | **{fair:.2f}** ({_verdict(fair, http)}) |"
        )
    lines += [
        "## (g) Human actions over HTTP",
        "",
        f"{CLIENTS} clients at once, each action over `/api/v1` (bearer token) to a `duban web`",
        "process of its own on loopback, as deployed (the rig's read model and dev server; the",
        "workers stay in the rig's process), on the same running assignments, in order:",
        "acknowledge, submit, approve. Beside each, the same number of bare Updates driven",
        f"from the same Temporal client, {CLIENTS} at a time, from a quiet rig, of two shapes: answered",
        "in the workflow's first task (no write), and durable (the acceptance stored before a",
        "scheduled activity, the shape every duban action has had since its first write became an",
        "activity, docs/DESIGN.md). Target: HTTP actions per second / bare Updates per second",
        f"≥ {RATIO_TARGET}.",
        "",
        "| action | calls | failed | HTTP per second | HTTP p95 (ms) | bare Update per second "
        "| bare p95 (ms) | durable bare per second | durable bare p95 (ms) | HTTP / bare "
        "| HTTP / durable bare |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        *rows,
        "",
        "What each call cost in CPU, from the round's first call until the rig was quiet again",
        "(so the work a call leaves behind counts, such as the next period an approval opens):",
        "the `duban web` process, the bench's own process (duban's and the bare workers, the",
        "activities and every client) and the Temporal server. Both cores are busy through",
        "every round, so the rates above stand in about the inverse ratio of these totals.",
        "",
        "| round | web (ms per call) | bench process (ms per call) | Temporal server (ms per call) "
        "| total (ms per call) |",
        "|---|---:|---:|---:|---:|",
        *costs,
        "",
    ]
