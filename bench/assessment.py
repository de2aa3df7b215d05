"""Benchmark: score 100k assignment-periods FROM THE DATABASE (load_outcomes on SQLite) beside the pure compile."""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from duban.db import make_engine, make_session_factory
from duban.migrate import upgrade
from duban.models import (
    Assignment,
    AssignmentPeriod,
    AuditEvent,
    Department,
    Escalation,
    Policy,
    Submission,
    User,
)
from duban.scoring import compile_scores
from duban.services.assessment import load_outcomes
from policies.rubric import load_rubric

PERIODS = 100_000
PER_ASSIGNMENT = 4
DEPARTMENTS = 60
AS_OF = datetime(2026, 12, 31, tzinfo=UTC)
_START = datetime(2026, 1, 1, tzinfo=UTC)
_BATCH = 20_000


def _insert(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows in executemany batches."""
    with engine.begin() as conn:
        for start in range(0, len(rows), _BATCH):
            conn.execute(insert(table), rows[start : start + _BATCH])


def _base(engine: Engine, assignments: int, rng: random.Random) -> None:
    """Insert departments, their heads, one policy and the assignments."""
    _insert(
        engine,
        Department.__table__,
        [
            {"id": d + 1, "code": f"D{d:03d}", "name": f"部门{d}", "known": True}
            for d in range(DEPARTMENTS)
        ],
    )
    heads = [
        {
            "username": f"head{d}",
            "password_hash": "!",
            "role": "head",
            "department_id": d + 1,
            "display_name": f"负责人{d}",
            "digest_email": True,
            "is_active": True,
            "created_at": _START,
        }
        for d in range(DEPARTMENTS)
    ]
    _insert(engine, User.__table__, heads)
    _insert(
        engine,
        Policy.__table__,
        [{"id": 1, "key": "bench", "title": "基准", "current_version": 1, "created_at": _START}],
    )
    rows = [
        {
            "id": a + 1,
            "policy_id": 1,
            "item_number": 5 + a // DEPARTMENTS,
            "department_id": a % DEPARTMENTS + 1,
            "role": "lead" if rng.random() < 0.4 else "co",
            "as_written": "",
            "workflow_id": f"assignment:bench:{5 + a // DEPARTMENTS}:D{a % DEPARTMENTS:03d}",
            "state": "in_progress",
            "period_index": 0,
            "escalation_level": 0,
            "updated_at": _START,
        }
        for a in range(assignments)
    ]
    _insert(engine, Assignment.__table__, rows)


def _period(rng: random.Random, a: int, i: int, out: dict[str, list[dict[str, Any]]]) -> None:
    """Append one period and what was recorded about it to `out`."""
    aid, wid = a + 1, f"assignment:bench:{5 + a // DEPARTMENTS}:D{a % DEPARTMENTS:03d}"
    due = _START + timedelta(days=91 * i + rng.randrange(90))
    closed = due + timedelta(hours=rng.randrange(-240, 600)) if rng.random() < 0.85 else None
    out["periods"].append(
        {
            "assignment_id": aid,
            "index": i,
            "due_at": due,
            "original_due_at": due,
            "source": "cadence",
            "label": f"第{i + 1}期",
            "historic": False,
            "state": "approved" if closed else "open",
            "closed_at": closed,
            "on_time": bool(closed and closed <= due),
            "rating": rng.randrange(1, 6) if closed else None,
        }
    )
    kinds = ["period_opened", "submitted", "period_closed"] if closed else ["period_opened"]
    if (closed is None or closed > due) and rng.random() < 0.5:
        for level in range(1, rng.randrange(1, 4) + 1):
            out["escalations"].append(
                {
                    "assignment_id": aid,
                    "period_index": i,
                    "level": level,
                    "reached_at": due + timedelta(days=level),
                }
            )
            kinds.append(f"escalation_l{level}")
    if closed and rng.random() < 0.2:
        out["submissions"].append(
            {
                "key": f"{wid}:{i}:r",
                "assignment_id": aid,
                "period_index": i,
                "report": "…",
                "state": "returned",
                "late": False,
                "submitted_at": due,
                "review_comment": "",
                "reviewed_at": due,
            }
        )
    for kind in kinds:
        out["events"].append(
            {
                "key": f"{wid}:p{i}:{kind}:s",
                "at": due,
                "kind": kind,
                "actor_label": "",
                "policy_id": 1,
                "assignment_id": aid,
                "data": {},
            }
        )


def build_database(folder: Path, periods: int = PERIODS, seed: int = 20261128) -> Engine:
    """Create a migrated SQLite file holding `periods` recorded assignment-periods."""
    engine = make_engine(f"sqlite:///{folder / 'assessment-bench.sqlite3'}")
    upgrade(engine)
    rng = random.Random(seed)
    assignments = periods // PER_ASSIGNMENT
    _base(engine, assignments, rng)
    out: dict[str, list[dict[str, Any]]] = {
        "periods": [],
        "escalations": [],
        "submissions": [],
        "events": [],
    }
    for a in range(assignments):
        for i in range(PER_ASSIGNMENT):
            _period(rng, a, i, out)
    for table, key in (
        (AssignmentPeriod, "periods"),
        (Escalation, "escalations"),
        (Submission, "submissions"),
        (AuditEvent, "events"),
    ):
        _insert(engine, table.__table__, out[key])
    return engine


def measure(engine: Engine) -> tuple[float, float, int, int]:
    """Return (load seconds, compile seconds, outcomes, score lines) of one scoring from the DB."""
    factory, rubric = make_session_factory(engine), load_rubric()
    with factory() as session:
        started = time.perf_counter()
        outcomes = load_outcomes(session=session, as_of=AS_OF)
        loaded = time.perf_counter()
    rows = compile_scores(outcomes, rubric, as_of=AS_OF)
    done = time.perf_counter()
    return loaded - started, done - loaded, len(outcomes), sum(len(r.lines) for r in rows)


def run(lines: list[str], periods: int = PERIODS) -> None:
    """Append the database-path section (generate, load_outcomes, compile) to the report `lines`."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        engine = build_database(Path(tmp), periods)
        built = time.perf_counter() - started
        load, compile_s, n, score_lines = measure(engine)
        engine.dispose()
    scale = 100_000 / max(n, 1)
    lines += [
        "## Scoring from the database: load_outcomes on SQLite, then compile",
        "",
        f"{n:,} recorded periods ({periods // PER_ASSIGNMENT:,} assignments, {DEPARTMENTS} departments); database built in {built:.1f} s.",
        "",
        "| step | time (s) | time per 100k periods (s) |",
        "|---|---:|---:|",
        f"| load_outcomes (SQL + events) | {load:.3f} | {load * scale:.3f} |",
        f"| compile_scores ({score_lines:,} lines) | {compile_s:.3f} | {compile_s * scale:.3f} |",
        f"| total | {load + compile_s:.3f} | {(load + compile_s) * scale:.3f} |",
        "",
    ]
