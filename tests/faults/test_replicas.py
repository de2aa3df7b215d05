"""Two `duban web` and two `duban worker` processes on one Temporal dev server and PostgreSQL.

A session made on one web serves on the other, an action sent to both with one key runs
once, the scheduler lease moves to the other worker when its holder is killed (-9), and the
survivor goes on processing: no workflow step is recorded twice.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actions.starter import start_policy
from actions.temporal import connect
from cli.devserver import DevServer, free_port
from duban.db import make_engine, make_session_factory
from duban.domain import UserRole
from duban.models import Assignment, AuditEvent, Department
from duban.services.user import create_user
from duban.settings import Settings
from tests.faults.stack import DUBAN, audit_kinds, eventually, import_tiny_policy
from tests.web.browser import CSRF_RE, PASSWORD

LEADS = "this worker runs the periodic jobs"
SECRET = "replica-test-secret-" + "x" * 40


@pytest.fixture
def backend() -> str:
    """Replicas share PostgreSQL (SQLite is the one-machine default)."""
    return "postgresql"


class Child:
    """A `duban ...` child process writing to its own log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_file: Path) -> None:
        self.log_file = log_file
        with log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [str(DUBAN), *args],
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Replicas:
    factory: sessionmaker[Session]
    webs: list[str]
    workers: list[Child]
    assignment_id: int
    username: str


def env_of(server: DevServer, db_url: str, folder: Path) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": server.address,
        "DATABASE_URL": db_url,
        "DUBAN_DATA_DIR": str(folder / "data"),
        "DUBAN_TASK_QUEUE": f"replicas-{uuid.uuid4().hex[:8]}",
        "DUBAN_SECRET_KEY": SECRET,
        "DUBAN_SCHEDULER_RETRY_SECONDS": "0.5",
    }


@pytest.fixture
async def replicas(db_url: str, tmp_path: Path) -> AsyncIterator[Replicas]:
    server = await DevServer.start(db_file=tmp_path / "temporal.sqlite3", port=free_port())
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    env = env_of(server, db_url, tmp_path)
    children: list[Child] = []
    try:
        row = import_tiny_policy(factory, tmp_path)
        username = staff_of(factory, row)
        workers = [Child(["worker"], env, tmp_path / f"worker{n}.log") for n in (1, 2)]
        ports = [free_port(), free_port()]
        webs = [
            Child(["web", "--port", str(p)], env, tmp_path / f"web{n}.log")
            for n, p in enumerate(ports, 1)
        ]
        children = workers + webs
        settings = Settings(database_url=db_url, task_queue=env["DUBAN_TASK_QUEUE"])
        client = await connect(Settings(temporal_address=server.address))
        await start_policy(
            client, session_factory=factory, settings=settings, policy_key=row.policy.key
        )
        yield Replicas(factory, [f"http://127.0.0.1:{p}" for p in ports], workers, row.id, username)
    finally:
        for child in children:
            child.stop()
        server.stop()
        engine.dispose()


def staff_of(factory: sessionmaker[Session], row: Assignment) -> str:
    """Create a staff account of the assignment's department; return its username."""
    with factory.begin() as session:
        code = session.get_one(Department, row.department_id).code
        name = f"staff-{uuid.uuid4().hex[:6]}"
        create_user(
            session=session,
            username=name,
            password=PASSWORD,
            role=UserRole.STAFF,
            department_code=code,
        )
    return name


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """One browser: its cookie (host-wide, as behind a load balancer) reaches both webs."""
    async with httpx.AsyncClient(timeout=15, follow_redirects=False) as client:
        yield client


async def answers(http: httpx.AsyncClient, base: str) -> bool:
    return (await http.get(f"{base}/healthz")).status_code == 200


async def sign_in(http: httpx.AsyncClient, base: str, username: str) -> None:
    page = await http.get(f"{base}/login")
    csrf = CSRF_RE.search(page.text)
    assert csrf is not None
    form = {"csrf_token": csrf.group(1), "username": username, "password": PASSWORD}
    done = await http.post(f"{base}/login", data=form)
    assert done.status_code == 303, done.text


def leads(worker: Child) -> bool:
    """Tell whether the worker's JSON log says it took the scheduler lease."""
    lines = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
    return any(line["event"] == LEADS and line["logger"] == "cli.worker" for line in lines)


def holders(workers: list[Child]) -> list[Child]:
    return [w for w in workers if leads(w)]


async def test_two_webs_two_workers(replicas: Replicas, http: httpx.AsyncClient) -> None:
    one, two = replicas.webs
    for base in (one, two):
        await eventually(functools.partial(answers, http, base), within=180)
    aid = replicas.assignment_id
    await eventually(lambda: _has(replicas, "period_opened"), within=120)

    # A session made on web one serves on web two (server-side sessions, one shared key).
    await sign_in(http, one, replicas.username)
    page = await http.get(f"{two}/assignments/{aid}")
    assert page.status_code == 200 and "故障测试" in page.text

    # One action, one key, sent to both webs: it runs once.
    async with httpx.AsyncClient(timeout=15) as anonymous:  # a cookie would ask for CSRF
        issued = await anonymous.post(
            f"{one}/api/v1/auth/token", json={"username": replicas.username, "password": PASSWORD}
        )
    assert issued.status_code == 200, issued.text
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    api = httpx.AsyncClient(timeout=30, headers=bearer)
    async with api:
        for base in (one, two):
            sent = await api.post(
                f"{base}/api/v1/assignments/{aid}/acknowledge", json={"key": "ack-once"}
            )
            assert sent.status_code == 200, sent.text

        # The scheduler lease: one holder; killed -9, the other worker takes it.
        first = await eventually(lambda: _one_holder(replicas.workers), within=30)
        assert first is not None
        first.kill9()
        survivor = next(w for w in replicas.workers if w is not first)
        await eventually(lambda: _leads(survivor), within=30)

        # The survivor goes on processing what the webs send. Until Temporal gives up on the
        # dead worker's sticky queue, an Update may time out: 503, and the client sends the
        # same key again, as Retry-After tells it to.
        async def submit() -> httpx.Response | None:
            sent = await api.post(
                f"{two}/api/v1/assignments/{aid}/submissions",
                json={"report": "本期工作已完成。", "key": "submit-once"},
            )
            assert sent.status_code in (201, 503), sent.text
            return sent if sent.status_code == 201 else None

        await eventually(submit, within=90, every=1)
    kinds = Counter(audit_kinds(replicas.factory, aid))
    assert all(kinds[k] == 1 for k in ("assigned", "period_opened", "acknowledged", "submitted"))
    with replicas.factory() as session:
        keys = list(session.scalars(select(AuditEvent.key).where(AuditEvent.key.is_not(None))))
    assert len(keys) == len(set(keys))


async def _has(replicas: Replicas, kind: str) -> bool:
    return kind in audit_kinds(replicas.factory, replicas.assignment_id)


async def _one_holder(workers: list[Child]) -> Child | None:
    found = holders(workers)
    assert len(found) <= 1, "two workers run the periodic jobs"
    return found[0] if found else None


async def _leads(worker: Child) -> bool:
    return leads(worker)
