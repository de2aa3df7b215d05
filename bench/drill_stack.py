"""The drill's stack: a private PostgreSQL, a Temporal dev server, `duban web` and `duban worker`.

Every part is a real process the drill can kill or restart: the PostgreSQL instance is the
drill's own (initdb in a temporary folder, a free port), never the machine's shared server.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actions.starter import start_policy
from actions.temporal import connect
from bench.numerals import chinese
from cli.devserver import DevServer, free_port
from cli.importer import import_path
from duban.db import make_engine, make_session_factory, utcnow
from duban.domain import UserRole
from duban.migrate import upgrade
from duban.models import Assignment, AuditEvent, Department
from duban.services import two_factor
from duban.services.user import create_user
from duban.settings import Settings

PG_BIN = Path(os.environ.get("DUBAN_DRILL_PG_BIN", "/usr/lib/postgresql/15/bin"))
DUBAN = Path(sys.prefix) / "bin" / "duban"
PASSWORD = "drill-Horse-42"
TOTP_SECRET = pyotp.random_base32()
SECRET_KEY = "drill-secret-" + "x" * 40
# An action waits this long for its workflow before the web answers 503 (the default is 10 s).
ACTION_TIMEOUT = "5"
Probe = Callable[[], Awaitable[bool]]
DEPARTMENTS = 10  # departments the assignments are spread over (items x departments)


class StackError(RuntimeError):
    """A part of the stack did not start."""


class PrivatePostgres:
    """A PostgreSQL instance of our own: initdb in `folder`, listening on loopback only.

    initdb refuses to run as root; then the cluster belongs to the `postgres` account and
    every pg_ctl runs as it (`runuser`), in a folder that account owns.
    """

    def __init__(self) -> None:
        # Its own folder, not one inside the caller's (often 0700 root) temporary folder.
        self.folder = Path(tempfile.mkdtemp(prefix="duban-drill-pg-"))
        self.data = self.folder / "pgdata"
        self.log_file = self.folder / "postgres.log"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.folder, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/duban"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if done.returncode != 0:
            raise StackError(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def init(self) -> None:
        """Create the cluster (trust auth, no fsync: a drill, not a store) and start it."""
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        self.start()
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE duban")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.log_file), "-w", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop the instance if it runs and delete its folder."""
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def crash_restart(self) -> None:
        """Stop as a crash would (`immediate`: no checkpoint, clients cut off) and start again."""
        self.stop("immediate")
        self.start()


class Child:
    """A `duban ...` process writing to its own log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_file: Path) -> None:
        self.args = args
        self.log_file = log_file
        with log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [str(DUBAN), *args],
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill9(self) -> int:
        """Kill without warning, as a crash or the OOM killer would; return the exit code."""
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Target:
    """One assignment the drill acts on, with the bearer headers of its department."""

    assignment_id: int
    workflow_id: str
    staff: dict[str, str]


@dataclass
class DrillStack:
    """The running stack: processes, the read model and who acts."""

    folder: Path
    postgres: PrivatePostgres
    server: DevServer
    factory: sessionmaker[Session]
    env: dict[str, str]
    webs: list[str]
    worker: Child
    supervisor: dict[str, str]
    targets: list[Target]
    children: list[Child] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)

    def start_worker(self, name: str) -> Child:
        child = Child(["worker"], self.env, self.folder / f"{name}.log")
        self.children.append(child)
        return child

    async def restart_temporal(self) -> None:
        """Stop the dev server (SIGTERM) and start it again on its SQLite file and port."""
        db_file, port = self.server.db_file, self.server.port
        await asyncio.to_thread(self.server.stop)
        self.server = await DevServer.start(db_file=db_file, port=port)

    def audit_verify(self) -> subprocess.CompletedProcess[str]:
        """Run `duban audit verify` against the drill's database."""
        return subprocess.run(
            [str(DUBAN), "audit", "verify"],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )


def drill_text(assignments: int, departments: list[str]) -> str:
    """Return a document whose items name `assignments` unit slots in all (one period each)."""
    lines = ["省委省政府关于故障演练的实施意见", "(2021年4月2日)", "一、重点任务"]
    number, left = 0, assignments
    while left > 0:
        number += 1
        units = "、".join(departments[: min(len(departments), left)])
        lines.append(f"({chinese(number)})第{number}项演练任务。2030年底前完成。(责任单位:{units})")
        left -= min(len(departments), left)
    return "\n".join(lines) + "\n"


def department_names() -> list[str]:
    import tomllib

    import policies

    path = Path(policies.__file__).resolve().parent / "departments.toml"
    return [d["name"] for d in tomllib.loads(path.read_text())["department"]]


def seed_users(factory: sessionmaker[Session], codes: list[str]) -> tuple[str, list[str]]:
    """Create a supervisor (TOTP enrolled) and one staff account per department code."""
    suffix = uuid.uuid4().hex[:6]
    with factory.begin() as session:
        boss = create_user(
            session=session,
            username=f"drill-boss-{suffix}",
            password=PASSWORD,
            role=UserRole.SUPERVISOR,
        )
        two_factor.store_secret(session=session, user=boss, secret=TOTP_SECRET, key=SECRET_KEY)
        boss.totp_enabled_at = utcnow()
        staff = []
        for i, code in enumerate(codes):
            user = create_user(
                session=session,
                username=f"drill-staff-{i}-{suffix}",
                password=PASSWORD,
                role=UserRole.STAFF,
                department_code=code,
            )
            staff.append(user.username)
        return boss.username, staff


async def token(
    http: httpx.AsyncClient, base: str, username: str, otp: str | None = None
) -> dict[str, str]:
    body = {"username": username, "password": PASSWORD, "otp": otp}
    answer = await http.post(f"{base}/api/v1/auth/token", json=body)
    if answer.status_code != 200:
        raise StackError(f"token for {username}: {answer.status_code} {answer.text}")
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def poll(probe: Probe, *, what: str, within: float, every: float = 0.25) -> None:
    """Wait until `probe()` is true, or raise StackError naming `what`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if await probe():
                return
        except (httpx.HTTPError, OSError):
            pass  # not listening yet
        await asyncio.sleep(every)
    raise StackError(f"{what}: not ready within {within:.0f}s")


def opened(factory: sessionmaker[Session], ids: list[int]) -> int:
    """Return how many of the assignments have their first period open."""
    with factory() as session:
        rows = session.scalars(
            select(AuditEvent.assignment_id)
            .where(AuditEvent.kind == "period_opened", AuditEvent.assignment_id.in_(ids))
            .distinct()
        )
        return len(list(rows))


async def until_all_open(factory: sessionmaker[Session], ids: list[int], *, stall: float) -> None:
    """Wait until every first period is open; give up after `stall` seconds without progress."""
    seen, moved = -1, time.monotonic()
    while True:
        now = await asyncio.to_thread(opened, factory, ids)
        if now == len(ids):
            return
        if now > seen:
            seen, moved = now, time.monotonic()
        elif time.monotonic() - moved > stall:
            raise StackError(
                f"first periods opened: {now} of {len(ids)}, none more in {stall:.0f}s"
            )
        await asyncio.sleep(0.5)


@asynccontextmanager
async def drill_stack(
    folder: Path, *, assignments: int, departments: int = DEPARTMENTS, webs: int = 2
) -> AsyncIterator[DrillStack]:
    """Start everything, import a policy of `assignments` unit slots over `departments`
    departments (one staff account each), start its workflows."""
    clock = time.monotonic()
    phases: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        phases[name] = time.monotonic() - clock
        clock = time.monotonic()

    async with AsyncExitStack() as exits:
        postgres = PrivatePostgres()
        exits.callback(postgres.remove)
        await asyncio.to_thread(postgres.init)
        engine = make_engine(postgres.url)
        exits.callback(engine.dispose)
        await asyncio.to_thread(upgrade, engine)
        factory = make_session_factory(engine)
        server = await DevServer.start(db_file=folder / "temporal.sqlite3", port=free_port())
        env = {
            "TEMPORAL_ADDRESS": server.address,
            "DATABASE_URL": postgres.url,
            "DUBAN_DATA_DIR": str(folder / "data"),
            "DUBAN_TASK_QUEUE": f"drill-{uuid.uuid4().hex[:8]}",
            "DUBAN_SECRET_KEY": SECRET_KEY,
            "DUBAN_TEMPORAL_TIMEOUT": ACTION_TIMEOUT,
            "DUBAN_DB_CONNECT_TIMEOUT": "2",
        }
        lap("PostgreSQL and Temporal")
        worker = Child(["worker"], env, folder / "worker-0.log")
        stack = DrillStack(folder, postgres, server, factory, env, [], worker, {}, [], [worker])
        stack.phases = phases
        exits.callback(lambda: stack.server.stop())

        def stop_children() -> None:
            for child in stack.children:
                child.stop()

        exits.callback(stop_children)
        ports = [free_port() for _ in range(webs)]
        for n, port in enumerate(ports):
            stack.children.append(Child(["web", "--port", str(port)], env, folder / f"web{n}.log"))
        stack.webs = [f"http://127.0.0.1:{p}" for p in ports]

        path = folder / "drill-policy.txt"
        names = department_names()[:departments]
        path.write_text(drill_text(assignments, names), encoding="utf-8")
        result = await asyncio.to_thread(import_path, factory, path)
        with factory() as session:
            rows = list(
                session.execute(
                    select(Assignment.id, Assignment.workflow_id, Department.code)
                    .join(Department, Department.id == Assignment.department_id)
                    .join(Assignment.policy)
                    .where(Assignment.policy.has(key=result.policy_key))
                    .order_by(Assignment.id)
                ).all()
            )
        codes = sorted({code for _, _, code in rows})
        boss, staff = await asyncio.to_thread(seed_users, factory, codes)
        settings = Settings(database_url=postgres.url, task_queue=env["DUBAN_TASK_QUEUE"])
        client = await connect(Settings(temporal_address=server.address))
        await start_policy(
            client, session_factory=factory, settings=settings, policy_key=result.policy_key
        )
        lap("import, accounts, start the workflows")
        ids = [aid for aid, _, _ in rows]
        await until_all_open(factory, ids, stall=300)
        lap("first periods opened")
        async with httpx.AsyncClient(timeout=30) as http:
            for base in stack.webs:

                async def healthy(base: str = base) -> bool:
                    return (await http.get(f"{base}/healthz")).status_code == 200

                await poll(healthy, what=f"web {base}", within=120)
            stack.supervisor = await token(http, stack.webs[0], boss, pyotp.TOTP(TOTP_SECRET).now())
            bearer = {}
            for code, name in zip(codes, staff, strict=True):
                bearer[code] = await token(http, stack.webs[0], name)
        lap("webs answering, bearer tokens")
        stack.targets = [Target(aid, wid, bearer[code]) for aid, wid, code in rows]
        yield stack
