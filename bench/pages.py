"""Bench (f): the pages at scale on PostgreSQL, through the real app over HTTP.

For each size a fresh PostgreSQL database is created (as tests/db.py does), migrated, and the
read model is written into it directly with COPY: departments, users, policies with their
versions and items, assignments, their periods, submissions, evidence rows, escalations,
extensions, notifications and audit events in the proportions a running province has. The
pages read only the read model, so no workflow runs; the app is served by uvicorn on loopback
and each page is asked for by a signed-in browser-like client, one request at a time.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import math
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
from sqlalchemy import Engine, create_engine, event, select, text

from bench.apart import section_apart
from bench.timing import p95
from bench.web_burst import served
from cli.jobs import refresh_scores
from duban.db import make_engine, make_session_factory
from duban.migrate import upgrade
from duban.models import AuditChain, Department, User
from duban.services import two_factor
from duban.services.user import create_user
from duban.settings import Settings
from web.app import create_app

PG_ADMIN_URL = os.environ.get(
    "DUBAN_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SIZES = (10_000, 100_000)
P95_TARGET_MS = 100.0
GROWTH_TARGET = 2.0
REPEAT = 20  # requests per page (after one warm-up); fewer when a page is very slow
PAGE_BUDGET_S = 30.0  # stop repeating a page after this long (at least MIN_REPEAT requests)
MIN_REPEAT = 3
DEPARTMENTS = 100
UNITS_PER_ITEM = 50
ITEMS_PER_POLICY = 20
PERIODS = 4  # quarterly: three closed (approved, as the workflow closes them), the current one open
PASSWORD = "bench-Pages-42"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SECRET_KEY = "bench-pages"
CHAIN = "0" * 64


def _pg_url(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"


@contextmanager
def fresh_pg() -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL and drop it afterwards."""
    name = f"duban_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _pg_url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Seeded:
    """What the measurements need to know about the seeded database."""

    rows: dict[str, int]
    seconds: float
    staff: str
    supervisor: str
    assessor: str
    department_code: str
    assignment_id: int
    policy_id: int
    policy_key: str
    scores_seconds: float = 0.0  # the score-table job's first build of the seeded database


class _Copier:
    """Rows for one table, written with COPY in one go."""

    def __init__(self, table: str, *columns: Sequence[str]) -> None:
        self.table, self.columns = table, [c for group in columns for c in group]
        self.buf = io.StringIO()
        self.n = 0

    def add(self, *values: object) -> None:
        self.buf.write("\t".join(_cell(v) for v in values) + "\n")
        self.n += 1

    def flush(self, cursor: Any) -> None:
        cols = ", ".join(f'"{c}"' for c in self.columns)
        with cursor.copy(f'COPY "{self.table}" ({cols}) FROM STDIN') as copy:
            copy.write(self.buf.getvalue())


def _cell(v: object) -> str:
    """Return a value in COPY's text format."""
    if v is None:
        return r"\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, dict | list):
        v = json.dumps(v, ensure_ascii=False)
    s = str(v)
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def seed(engine: Engine, n: int, now: datetime) -> Seeded:
    """Write a read model of `n` assignments (and what goes with them) with COPY."""
    started = time.perf_counter()
    factory = make_session_factory(engine)
    codes = [f"bench-d{d:03d}" for d in range(DEPARTMENTS)]
    with factory.begin() as s:
        for d, code in enumerate(codes):
            s.add(Department(code=code, name=f"省基准第{d}厅"))
        s.flush()
        # The three who sign in get a real password (Argon2) and, where needed, a TOTP factor.
        people = [("bench-staff", "staff", codes[0]), ("bench-sup", "supervisor", None)]
        people.append(("bench-assessor", "assessor", None))
        for username, role, dept in people:
            user = create_user(
                session=s, username=username, password=PASSWORD, role=role, department_code=dept
            )
            two_factor.store_secret(session=s, user=user, secret=SECRET, key=SECRET_KEY)
            user.totp_enabled_at = now
        s.flush()
        dept_ids = {str(c): int(i) for c, i in s.execute(select(Department.code, Department.id))}
        first_seq = s.scalar(select(AuditChain.seq)) or 0
        staff_id = s.scalar(select(User.id).where(User.username == "bench-staff"))
        hash_ = s.scalar(select(User.password_hash).where(User.username == "bench-staff"))
    assert staff_id is not None and hash_ is not None

    per_policy = UNITS_PER_ITEM * ITEMS_PER_POLICY
    policies = math.ceil(n / per_policy)
    tables = {
        "user_account": _Copier(
            "user_account",
            ["id", "username", "password_hash", "role", "display_name", "department_id"],
            ["digest_email", "is_active", "must_change_password", "created_at"],
        ),
        "policy": _Copier(
            "policy",
            ["id", "key", "title", "current_version", "head_sign_off", "created_at"],
        ),
        "policy_version": _Copier(
            "policy_version",
            ["id", "policy_id", "version", "content_sha256", "source_name", "source_text"],
            ["parsed", "imported_at"],
        ),
        "policy_item": _Copier(
            "policy_item",
            ["id", "version_id", "number", "label", "section_number", "section_title", "title"],
            ["body", "is_task", "open_ended", "units", "deadlines"],
        ),
        "assignment": _Copier(
            "assignment",
            ["id", "policy_id", "item_number", "department_id", "role", "as_written"],
            ["workflow_id", "state", "period_index", "due_at", "original_due_at"],
            ["escalation_level", "acknowledged_at", "completed_at", "updated_at"],
            ["pending_start"],
        ),
        "assignment_period": _Copier(
            "assignment_period",
            ["assignment_id", "index", "due_at", "original_due_at", "source", "label"],
            ["historic", "state", "closed_at", "on_time", "rating"],
        ),
        "submission": _Copier(
            "submission",
            ["id", "key", "assignment_id", "period_index", "report", "state", "late"],
            ["submitted_by_id", "submitted_at", "rating", "review_comment", "reviewed_at"],
        ),
        "evidence": _Copier(
            "evidence",
            ["id", "assignment_id", "sha256", "size", "filename", "content_type"],
            ["uploaded_by_id", "uploaded_at"],
        ),
        "submission_evidence": _Copier("submission_evidence", ["submission_id", "evidence_id"]),
        "escalation": _Copier(
            "escalation", ["assignment_id", "period_index", "level", "reached_at"]
        ),
        "extension": _Copier(
            "extension",
            ["key", "assignment_id", "period_index", "requested_due_at", "reason", "state"],
            ["requested_by_id", "requested_at", "decision_comment"],
        ),
        "notification": _Copier(
            "notification",
            ["key", "user_id", "kind", "title", "body", "link", "assignment_id", "created_at"],
            ["read_at"],
        ),
        "audit_event": _Copier(
            "audit_event",
            ["key", "at", "kind", "actor_id", "actor_label", "policy_id", "assignment_id"],
            ["data", "seq", "prev_hash", "hash"],
        ),
    }
    t = tables
    # One more staff member per department (the notifications' readers); ids after the seeded three.
    staff_of: dict[int, int] = {}
    for d, code in enumerate(codes):
        staff_of[d] = staff_id if d == 0 else 1000 + d
        if d:
            t["user_account"].add(
                1000 + d, f"bench-staff-{d:03d}", hash_, "staff", "", dept_ids[code],
                True, True, False, now,
            )  # fmt: skip
    quarter = timedelta(days=91)
    dues = [now - quarter * (PERIODS - 1 - p) + timedelta(days=30) for p in range(PERIODS)]
    seq = first_seq
    sub_id = ev_id = 0

    def audit(key: str, at: datetime, kind: str, pid: int, aid: int, data: object) -> None:
        nonlocal seq
        seq += 1
        t["audit_event"].add(key, at, kind, None, "系统", pid, aid, data, seq, CHAIN, CHAIN)

    for p in range(policies):
        pid = vid = p + 1
        key = f"bench-policy-{p:04d}"
        t["policy"].add(pid, key, f"基准政策第{p + 1}号", 1, False, now - timedelta(days=400))
        t["policy_version"].add(vid, pid, 1, f"{p:064x}", f"{key}.txt", "基准", {}, now)
        half = (p % 2) * UNITS_PER_ITEM
        units = [
            {"name": f"省基准第{half + u}厅", "role": "lead" if u == 0 else "co"}
            for u in range(UNITS_PER_ITEM)
        ]
        for item in range(1, ITEMS_PER_POLICY + 1):
            t["policy_item"].add(
                p * ITEMS_PER_POLICY + item, vid, item, f"({item})", 1 + item // 5,
                f"第{1 + item // 5}部分", f"第{item}项任务:按期推进并报送进展",
                "按期推进并报送进展。" * 5, True, False, units, [],
            )  # fmt: skip
    for i in range(n):
        aid = i + 1
        p, rest = divmod(i, per_policy)
        item, u = divmod(rest, UNITS_PER_ITEM)
        item += 1
        d = u + (p % 2) * UNITS_PER_ITEM
        pid, wf = p + 1, f"bench-policy-{p:04d}:{item}:{codes[d]}"
        kind = i % 10
        state = ["assigned", "acknowledged", "in_progress", "in_progress", "submitted"]
        state += ["returned", "approved", "approved", "completed", "in_progress"]
        st = state[kind]
        late = kind == 9  # overdue and escalated: its current period's due date has passed
        current = PERIODS - 1
        due = dues[current] if not late else now - timedelta(days=3 + i % 20)
        level = 1 + i % 3 if late else 0
        t["assignment"].add(
            aid, pid, item, dept_ids[codes[d]], "lead" if u == 0 else "co", codes[d], wf, st,
            current, due, dues[current], level,
            None if st == "assigned" else dues[0] - quarter, now if st == "completed" else None,
            now - timedelta(minutes=i % 5000), False,
        )  # fmt: skip
        for period in range(PERIODS):
            closed = period < current
            pdue = dues[period] if period < current else due
            t["assignment_period"].add(
                aid, period, pdue, dues[period], "cadence", f"第{period + 1}季度", False,
                "approved" if closed else "open", pdue if closed else None,
                (i + period) % 7 != 0 if closed else None, 3 + (i + period) % 3 if closed else None,
            )  # fmt: skip
            audit(f"{wf}:p{period}:period_opened:0", pdue - quarter, "period_opened", pid, aid, {})
            if closed:
                sub_id += 1
                at = pdue - timedelta(days=2)
                t["submission"].add(
                    sub_id, f"{wf}:p{period}:submit", aid, period, "本季度按期推进。", "approved",
                    False, staff_of[d], at, 4, "", at + timedelta(days=1),
                )  # fmt: skip
                audit(f"{wf}:p{period}:submitted:0", at, "submitted", pid, aid, {})
                audit(f"{wf}:p{period}:period_closed:0", pdue, "period_closed", pid, aid, {})
        if st in ("submitted", "returned"):
            sub_id += 1
            t["submission"].add(
                sub_id, f"{wf}:p{current}:submit", aid, current, "本季度进展。", st, False,
                staff_of[d], now - timedelta(hours=i % 100), None, "", None,
            )  # fmt: skip
            audit(
                f"{wf}:p{current}:submitted:0", now - timedelta(hours=1), "submitted", pid, aid, {}
            )
        ev_id += 1
        t["evidence"].add(
            ev_id, aid, f"{aid:064x}", 40_000, f"材料{aid}.pdf", "application/pdf",
            staff_of[d], now - timedelta(days=10),
        )  # fmt: skip
        t["submission_evidence"].add(sub_id, ev_id)
        for lv in range(1, level + 1):
            t["escalation"].add(aid, current, lv, now - timedelta(days=3 - lv))
            audit(f"{wf}:p{current}:escalation_l{lv}:0", now, f"escalation_l{lv}", pid, aid, {})
        if i % 20 == 3:
            t["extension"].add(
                f"{wf}:ext", aid, current, due + timedelta(days=30), "需要更多时间", "pending",
                staff_of[d], now - timedelta(days=1), "",
            )  # fmt: skip
        t["notification"].add(
            f"{wf}:n", staff_of[d], "assigned", "新任务", "", f"/assignments/{aid}", aid,
            now - timedelta(days=i % 90), None if i % 3 else now,
        )  # fmt: skip
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for table in tables.values():
            table.flush(cur)
        cur.execute("UPDATE audit_chain SET seq = %s WHERE id = 1", (seq,))
        if cur.rowcount == 0:
            cur.execute(
                "INSERT INTO audit_chain (id, seq, head_hash) VALUES (1, %s, %s)", (seq, CHAIN)
            )
        serial = ("user_account", "policy", "policy_version", "policy_item", "assignment")
        for name in (*serial, "submission"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"
            )
        cur.execute("SELECT setval(pg_get_serial_sequence('evidence', 'id'), %s)", (max(ev_id, 1),))
        raw.commit()
        # A running province's tables are vacuumed by autovacuum (PostgreSQL 13+ also after
        # inserts); rows loaded by COPY a moment ago are not yet, which leaves index-only scans
        # reading the heap. VACUUM ANALYZE here stands for that steady state.
        driver = raw.driver_connection
        assert driver is not None
        driver.autocommit = True
        cur.execute("VACUUM ANALYZE")
        driver.autocommit = False
    finally:
        raw.close()
    rows = {name: c.n for name, c in tables.items() if name != "user_account"}
    return Seeded(
        rows=rows,
        seconds=time.perf_counter() - started,
        staff="bench-staff",
        supervisor="bench-sup",
        assessor="bench-assessor",
        department_code=codes[0],
        # A task in the middle of a policy of the staff member's department (even policies).
        assignment_id=_staff_task(n, policies),
        policy_id=(policies + 1) // 2,
        policy_key=f"bench-policy-{(policies - 1) // 2:04d}",
    )


def _staff_task(n: int, policies: int) -> int:
    """Return the id of a task in the middle of a policy that names the staff's department
    (department 0 is a unit of the even policies, the first of each item)."""
    per_policy = UNITS_PER_ITEM * ITEMS_PER_POLICY
    first = (policies - 1) // 2 // 2 * 2 * per_policy
    items = (min(n - first, per_policy) - 1) // UNITS_PER_ITEM
    return first + min(9, items) * UNITS_PER_ITEM + 1


@dataclass
class Query:
    """One SQL statement the app ran, with its parameters and seconds."""

    page: str
    statement: str
    params: Any
    seconds: float


@dataclass
class Recorder:
    """Collects the statements the app's engine runs while `page` is set."""

    page: str = ""
    queries: list[Query] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    _started: float = 0.0

    def before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def after(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self.page:
            took = time.perf_counter() - self._started
            self.queries.append(Query(self.page, statement, params, took))


CSRF = 'name="csrf_token" value="'


async def sign_in(client: httpx.AsyncClient, username: str) -> None:
    """Sign in through the form and its second step, like a browser."""
    page = await client.get("/login")
    token = page.text.split(CSRF, 1)[1].split('"', 1)[0]
    form = {"csrf_token": token, "username": username, "password": PASSWORD}
    response = await client.post("/login", data=form)
    if response.status_code == 303 and response.headers["location"].startswith("/login/2fa"):
        step = {"csrf_token": token, "code": pyotp.TOTP(SECRET).now()}
        response = await client.post("/login/2fa", data=step)
    if response.status_code != 303:
        raise RuntimeError(f"bench sign-in of {username} failed: {response.status_code}")


@dataclass
class PageTiming:
    """A page's answers at one size."""

    name: str
    url: str
    p95_ms: float
    median_ms: float
    requests: int
    statuses: set[int]
    queries: int  # SQL statements per request


def pages_of(s: Seeded) -> list[tuple[str, str, str]]:
    """Return (name, who asks, URL) of every measured page, or of those whose names contain
    one of the comma-separated words in DUBAN_BENCH_PAGES (e.g. "board,review")."""
    wanted = [w for w in os.environ.get("DUBAN_BENCH_PAGES", "").split(",") if w]
    return [page for page in _all_pages(s) if not wanted or any(w in page[0] for w in wanted)]


def _all_pages(s: Seeded) -> list[tuple[str, str, str]]:
    return [
        ("staff inbox", s.staff, "/assignments"),
        ("assignment page", s.staff, f"/assignments/{s.assignment_id}"),
        (
            "supervisor board, filtered",
            s.supervisor,
            f"/board?policy={s.policy_key}&light=red&level=1",
        ),
        ("review queue", s.supervisor, "/reviews"),
        ("escalations", s.supervisor, "/escalations"),
        ("cockpit", s.supervisor, "/cockpit"),
        ("assessment ranking", s.assessor, "/assessment"),
        ("one department's ledger", s.assessor, f"/assessment/departments/{s.department_code}"),
        ("policy page", s.supervisor, f"/policies/{s.policy_id}"),
    ]


async def measure_size(
    n: int, repeat: int, recorder: Recorder
) -> tuple[Seeded, list[PageTiming], str]:
    """Seed a fresh database with `n` assignments, time every page; return what was seen and
    the database URL's name (for the report)."""
    now = datetime.now(UTC)
    with fresh_pg() as url, tempfile.TemporaryDirectory(prefix="duban-pages-") as tmp:
        engine = make_engine(url)
        await asyncio.to_thread(upgrade, engine)
        seeded = await asyncio.to_thread(seed, engine, n, now)
        # A running deployment's score table is built by its job (30 s after the worker starts)
        # and kept up by it; a page never builds it (it answers 503 while it is missing).
        started = time.perf_counter()
        await asyncio.to_thread(refresh_scores, make_session_factory(engine))
        seeded.scores_seconds = time.perf_counter() - started
        engine.dispose()
        settings = Settings(data_dir=Path(tmp), database_url=url, secret_key=SECRET_KEY)
        app = create_app(settings)
        timings: list[PageTiming] = []
        async with served(app) as base:
            clients: dict[str, httpx.AsyncClient] = {}
            try:
                for who in (seeded.staff, seeded.supervisor, seeded.assessor):
                    c = httpx.AsyncClient(base_url=base, timeout=300)
                    clients[who] = c
                    await sign_in(c, who)
                for name, who, path in pages_of(seeded):
                    timings.append(await time_page(clients[who], name, path, repeat, recorder))
            finally:
                for c in clients.values():
                    await c.aclose()
        explain = await asyncio.to_thread(explain_slowest, url, recorder, n)
        # The app's engine is gone with the lifespan; drop the database only after EXPLAIN.
    return seeded, timings, explain


async def time_page(
    c: httpx.AsyncClient, name: str, path: str, repeat: int, recorder: Recorder
) -> PageTiming:
    """Ask for a page once to warm it, then `repeat` times (within PAGE_BUDGET_S)."""
    warm = await c.get(path)
    statuses = {warm.status_code}
    seconds: list[float] = []
    recorder.page, first = name, len(recorder.queries)
    budget = time.perf_counter() + PAGE_BUDGET_S
    while len(seconds) < repeat and (len(seconds) < MIN_REPEAT or time.perf_counter() < budget):
        started = time.perf_counter()
        response = await c.get(path)
        seconds.append(time.perf_counter() - started)
        statuses.add(response.status_code)
    recorder.page = ""
    ordered = sorted(seconds)
    return PageTiming(
        name,
        path,
        p95(seconds),
        ordered[len(ordered) // 2] * 1000,
        len(seconds),
        statuses,
        (len(recorder.queries) - first) // max(1, len(seconds)),
    )


LONG_LIST = re.compile(r"\((%\([a-z_0-9]+\)s(::[A-Z]+)?, ){20,}%\([a-z_0-9]+\)s(::[A-Z]+)?\)")


def shorten(statement: str) -> str:
    """Return the statement with long IN lists of parameters elided."""
    return LONG_LIST.sub(lambda m: f"(… {m[0].count('%(')} parameters …)", statement)


def explain_slowest(url: str, recorder: Recorder, n: int) -> str:
    """Return EXPLAIN (ANALYZE, BUFFERS) of the slowest statement recorded (and which page ran it)."""
    if not recorder.queries:
        return ""
    slowest = max(recorder.queries, key=lambda q: q.seconds)
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest.statement, slowest.params)
        plan = "\n".join(str(row[0]) for row in cur.fetchall())
        raw.rollback()
    finally:
        raw.close()
        engine.dispose()
    recorder.queries.clear()
    return (
        f"Slowest statement at {n:,} assignments: {slowest.seconds * 1000:.1f} ms, "
        f"from the {slowest.page}.\n\n```sql\n{shorten(slowest.statement)}\n```\n\n```\n{plan}\n```"
    )


@contextmanager
def recording() -> Iterator[Recorder]:
    """Record every statement any engine runs while a page is being timed."""
    recorder = Recorder()
    event.listen(Engine, "before_cursor_execute", recorder.before)
    event.listen(Engine, "after_cursor_execute", recorder.after)
    try:
        yield recorder
    finally:
        event.remove(Engine, "before_cursor_execute", recorder.before)
        event.remove(Engine, "after_cursor_execute", recorder.after)


def verdict(small: PageTiming, big: PageTiming) -> str:
    """Return the row's verdict against both targets."""
    ratio = big.p95_ms / small.p95_ms if small.p95_ms else 0.0
    ok = big.p95_ms < P95_TARGET_MS and ratio < GROWTH_TARGET and big.statuses == {200}
    return f"{ratio:.2f} | {'met' if ok else 'MISSED'}"


async def run(lines: list[str], sizes: Sequence[int] = SIZES, repeat: int = REPEAT) -> None:
    """Append section (f) to the report."""
    results: list[tuple[Seeded, list[PageTiming]]] = []
    explains: list[str] = []
    with recording() as recorder:
        for n in sizes:
            seeded, timings, explain = await measure_size(n, repeat, recorder)
            results.append((seeded, timings))
            explains.append(explain)
    small, big = results[0], results[-1]
    head = " | ".join(f"p95 at {s.rows['assignment']:,} (ms)" for s, _ in results)
    lines += [
        "## (f) Pages at scale on PostgreSQL",
        "",
        "A fresh PostgreSQL database per size, its read model written directly with COPY and",
        "vacuumed as autovacuum would (the",
        "pages read only the read model, so no workflow ran: this times the pages, not the",
        "workflows that would have written those rows). Served by uvicorn on loopback, in a",
        "Python process of its own (not the one that ran the workflow sections before); one",
        f"signed-in client asks for each page once to warm it, then up to {repeat} times in a row",
        f"(fewer when a page takes over {PAGE_BUDGET_S:.0f} s in all; at least {MIN_REPEAT}).",
        f"Targets: p95 < {P95_TARGET_MS:.0f} ms at the largest size, and p95(largest) /",
        f"p95(smallest) < {GROWTH_TARGET:.0f}.",
        "",
        "Rows seeded:",
        "",
        "| table | " + " | ".join(f"{s.rows['assignment']:,}" for s, _ in results) + " |",
        "|---|" + "---:|" * len(results),
        *(
            f"| {table} | " + " | ".join(f"{s.rows[table]:,}" for s, _ in results) + " |"
            for table in small[0].rows
        ),
        "| seeding (s) | " + " | ".join(f"{s.seconds:.1f}" for s, _ in results) + " |",
        "| score table built by its job (s) | "
        + " | ".join(f"{s.scores_seconds:.1f}" for s, _ in results)
        + " |",
        "",
        f"| page | URL | {head} | median at largest (ms) | SQL per request | statuses "
        "| ratio | verdict |",
        "|---|---|" + "---:|" * len(results) + "---:|---:|---|---:|---|",
    ]
    for i, (name, _, _) in enumerate(pages_of(small[0])):
        row = [t[i] for _, t in results]
        last = row[-1]
        lines.append(
            f"| {name} | `{last.url}` | "
            + " | ".join(f"{t.p95_ms:.1f}" for t in row)
            + f" | {last.median_ms:.1f} | {last.queries} | "
            + ", ".join(str(code) for code in sorted(last.statuses))
            + f" | {verdict(row[0], last)} |"
        )
    lines += ["", explains[-1], ""]
    del big


async def run_apart(lines: list[str], sizes: Sequence[int] = SIZES, repeat: int = REPEAT) -> None:
    """Append section (f), measured in a Python process of its own (bench.apart)."""
    await section_apart(lines, "bench.pages", ",".join(str(n) for n in sizes), str(repeat))


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m bench.pages [sizes [repeat]]`: run this section alone and print it
    (DUBAN_BENCH_PAGES picks pages by name)."""
    args = list(sys.argv[1:] if argv is None else argv)
    sizes = tuple(int(x) for x in args[0].split(",")) if args else SIZES
    repeat = int(args[1]) if len(args) > 1 else REPEAT
    logging.basicConfig(level=logging.WARNING)
    lines: list[str] = []
    asyncio.run(run(lines, sizes, repeat))
    print("\n".join(lines))  # noqa: T201 - the report is the program's output


if __name__ == "__main__":
    main()
