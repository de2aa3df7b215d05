"""The score table: the ranking and the ledger from tallies kept up to the audit chain's head.

`refresh` rebuilds the `period_score` rows of every assignment that an audit event recorded after
the watermark touched (the outcome of `load_outcomes`, the one reading of the record), and the
`score_tally` rows of their departments and quarters. The ranking scores each tally once with
the rubric (`duban.scoring.compile_tallies`); the ledger scores one window of periods. Only the
lateness of an open period depends on the moment, so a tally keeps its due date, not its days.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from duban.domain import AssignmentRole
from duban.errors import Invalid, Unavailable
from duban.models import (
    Assignment,
    AuditEvent,
    Department,
    HeadTerm,
    PeriodScore,
    ScoreTally,
    ScoreWatermark,
    User,
)
from duban.scoring import (
    GroupBy,
    PeriodOutcome,
    ScoreLine,
    ScoreRow,
    compile_tallies,
    days_late,
    score_period,
)
from duban.services.assessment import (
    Ledger,
    check_period,
    current_quarter,
    events_by_id,
    load_outcomes,
)
from duban.services.assignment import item_ref, item_title, select_with_item
from duban.services.audit import chain_head
from duban.services.head_term import head_terms
from duban.services.paging import decode_cursor, encode_cursor
from policies.rubric import Rubric

CHUNK = 1000  # assignments rebuilt per round of queries
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # a closed period's lateness is kept in whole days
_FACTS = (
    "official",
    "official_name",
    "role",
    "historic",
    "approved",
    "rating",
    "late_days",
    "open_due_at",
    "levels",
    "extensions",
    "returns",
    "targets_met",
    "targets_reported",
)
REQUEST_MOST = 5_000  # assignments a page rebuilds before it answers; more waits for the job
LOCK_WAIT = 2.0  # seconds a page waits for another refresh's lock before it answers 503
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout expires
LEDGER_PERIODS = 50  # scored periods per window of the ledger page (their lines: 1-7 each)


def quarters_of(period: str) -> list[str]:
    """Return the quarters an assessment period is made of: 2026 -> 2026Q1..Q4."""
    check_period(period)
    return [period] if "Q" in period else [f"{period}Q{q}" for q in range(1, 5)]


def _terms_fingerprints(session: Session) -> dict[str, str]:
    """Return, per unit (its id, as text), a hash of its head terms and their heads' names:
    who the official of each of its periods is."""
    q = (
        select(
            HeadTerm.department_id,
            HeadTerm.id,
            HeadTerm.user_id,
            HeadTerm.started_at,
            HeadTerm.ended_at,
            User.username,
            User.display_name,
        )
        .join(User, User.id == HeadTerm.user_id)
        .order_by(HeadTerm.department_id, HeadTerm.id)
    )
    digests: dict[str, Any] = {}
    for row in session.execute(q):
        digest = digests.setdefault(str(row[0]), hashlib.sha256())
        digest.update(repr(tuple(row)).encode())
    return {unit: digest.hexdigest()[:16] for unit, digest in digests.items()}


def _encode_terms(terms: dict[str, str]) -> str:
    return json.dumps(terms, sort_keys=True, separators=(",", ":"))


def _changed_units(stored: str, terms: dict[str, str]) -> set[int] | None:
    """Return the units whose head terms differ from the stored fingerprints, or None when the
    stored form is unknown (never built, or the one hash of every term an earlier version kept)."""
    try:
        old = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(old, dict):
        return None
    return {int(unit) for unit in old.keys() | terms.keys() if old.get(unit) != terms.get(unit)}


def _touched(session: Session, after: int, upto: int) -> set[int]:
    """Return the assignments whose record changed in (after, upto] of the chain: those an event
    names, and every assignment of a policy an event names without one (an import, a revision)."""
    window = (AuditEvent.seq > after, AuditEvent.seq <= upto)
    named = select(AuditEvent.assignment_id).where(*window, AuditEvent.assignment_id.is_not(None))
    ids = {i for i in session.scalars(named.distinct()) if i is not None}
    policies = select(AuditEvent.policy_id).where(
        *window, AuditEvent.assignment_id.is_(None), AuditEvent.policy_id.is_not(None)
    )
    ids.update(session.scalars(select(Assignment.id).where(Assignment.policy_id.in_(policies))))
    return ids


def refresh(*, session: Session, now: datetime, most: int | None = None) -> int:
    """Bring the score table up to the audit chain's head; return how many assignments it rebuilt.

    Cheap when nothing was recorded since (two one-row reads); otherwise the watermark row is
    locked first (so two refreshes never interleave) and only the touched assignments rebuilt:
    those the events since name, and every assignment of a unit whose head terms changed.
    A page passes `most`: when more than that many assignments wait (a first build, a large
    import) or another refresh holds the lock for over LOCK_WAIT, it raises Unavailable (503 +
    Retry-After) rather than keep the reader waiting; the score-table job catches up.
    """
    mark = session.get(ScoreWatermark, 1)
    terms = _terms_fingerprints(session)
    encoded = _encode_terms(terms)
    if mark is not None and (mark.seq, mark.terms) == (chain_head(session=session).seq, encoded):
        return 0
    if mark is None:  # the first refresh of this database; two at once write one row
        _insert_watermark(session)
        mark = session.get_one(ScoreWatermark, 1)
    _lock_watermark(session, wait=most is not None)
    session.refresh(mark)
    head = chain_head(session=session).seq
    if (mark.seq, mark.terms) == (head, encoded):
        return 0
    units = _changed_units(mark.terms, terms) if mark.seq else None
    if units is None:  # never built, or built under an unknown fingerprint: every row
        if most is not None:
            _at_most(session.scalar(select(func.count(Assignment.id))) or 0, most)
        ids = set(session.scalars(select(Assignment.id)))
    else:
        ids = _touched(session, mark.seq, head)
        if units:
            ids.update(
                session.scalars(select(Assignment.id).where(Assignment.department_id.in_(units)))
            )
    if most is not None:
        _at_most(len(ids), most)
    rebuild(session=session, assignment_ids=ids, now=now)
    mark.seq, mark.terms = head, encoded
    session.flush()
    return len(ids)


def _at_most(waiting: int, most: int) -> None:
    """Refuse (503) a page's refresh that would rebuild more than `most` assignments."""
    if waiting > most:
        raise Unavailable(f"评分表正在更新（{waiting} 项任务待重算），请稍后再试")


def catch_up(*, session: Session, now: datetime) -> None:
    """Refresh as a page or an API read does: at most REQUEST_MOST assignments, else 503."""
    refresh(session=session, now=now, most=REQUEST_MOST)


def _lock_watermark(session: Session, *, wait: bool) -> None:
    """Lock the watermark row: the first write of the transaction (a row lock on PostgreSQL,
    the write lock on SQLite). With `wait`, a lock held longer than LOCK_WAIT raises
    Unavailable (PostgreSQL's lock_timeout; SQLite's busy timeout bounds it there)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if wait and postgres:
        session.execute(text(f"SET LOCAL lock_timeout = '{int(LOCK_WAIT * 1000)}ms'"))
    try:
        session.execute(
            update(ScoreWatermark).where(ScoreWatermark.id == 1).values(seq=ScoreWatermark.seq)
        )
    except OperationalError as exc:
        if wait and postgres and getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise Unavailable("评分表正在更新，请稍后再试") from exc
        raise
    if wait and postgres:
        session.execute(text("SET LOCAL lock_timeout = 0"))


def _insert_watermark(session: Session) -> None:
    """Write the watermark row at 0 unless another transaction has (insert or ignore)."""
    dialect = session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    row = {"id": 1, "seq": 0, "terms": ""}
    session.execute(make(ScoreWatermark).values(row).on_conflict_do_nothing())


def _chunks(ids: Collection[int]) -> Iterator[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _row(o: PeriodOutcome, department_id: int, now: datetime) -> dict[str, Any]:
    """Return the period_score row of an outcome recorded by `now`."""
    closed = o.closed_at is not None
    return {
        "assignment_id": o.assignment_id,
        "period_index": o.period_index,
        "department_id": department_id,
        "quarter": current_quarter(o.original_due_at),
        "official": o.official,
        "official_name": o.official_name,
        "task_number": o.task_number,
        "role": str(o.role),
        "label": o.period_label[:100],
        "historic": o.historic,
        "approved": o.approved,
        "rating": o.rating,
        "late_days": days_late(o, now) if closed else None,
        "open_due_at": None if closed else o.due_at,
        "original_due_at": o.original_due_at,
        "levels": ",".join(str(level) for level in o.escalation_levels),
        "extensions": o.extensions_granted,
        "returns": o.returns,
        "targets_met": o.targets_met,
        "targets_reported": o.targets_reported,
        "event_ids": list(o.event_ids),
        "events_by_rule": {k: list(v) for k, v in (o.events_by_rule or {}).items()},
    }


def rebuild(*, session: Session, assignment_ids: Collection[int], now: datetime) -> None:
    """Recompute the period scores of these assignments and the tallies they fall in."""
    if not assignment_ids:
        return
    terms = head_terms(session=session)
    dept_ids = {code: i for i, code in session.execute(select(Department.id, Department.code))}
    departments: set[int] = set()
    quarters: set[str] = set()
    for chunk in _chunks(assignment_ids):
        old = select(PeriodScore.department_id, PeriodScore.quarter).where(
            PeriodScore.assignment_id.in_(chunk)
        )
        for dept, quarter in session.execute(old.distinct()):
            departments.add(dept)
            quarters.add(quarter)
        session.execute(delete(PeriodScore).where(PeriodScore.assignment_id.in_(chunk)))
        outcomes = load_outcomes(session=session, as_of=now, assignment_ids=chunk, terms=terms)
        rows = [_row(o, dept_ids[o.department_code], now) for o in outcomes]
        for r in rows:
            departments.add(r["department_id"])
            quarters.add(r["quarter"])
        if rows:
            _insert(session, rows)
    _retally(session, departments, quarters)


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert period_score rows: with COPY on PostgreSQL (a first build writes one per period of
    the province), by executemany elsewhere."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(insert(PeriodScore), rows)
        return
    columns = list(rows[0])
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cur, cur.copy(f"COPY period_score ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [json.dumps(v) if isinstance(v, list | dict) else v for v in row.values()]
            )


def _retally(session: Session, departments: set[int], quarters: set[str]) -> None:
    """Count the period scores of these departments and quarters again into their tallies."""
    if not departments:
        return
    for chunk in _chunks(departments):
        where = (ScoreTally.department_id.in_(chunk), ScoreTally.quarter.in_(quarters))
        session.execute(delete(ScoreTally).where(*where))
        keys = [PeriodScore.quarter, PeriodScore.department_id]
        keys += [getattr(PeriodScore, name) for name in _FACTS]
        counted = (
            select(*keys, func.count())
            .where(PeriodScore.department_id.in_(chunk), PeriodScore.quarter.in_(quarters))
            .group_by(*keys)
        )
        columns = ["quarter", "department_id", *_FACTS, "periods"]
        session.execute(insert(ScoreTally).from_select(columns, counted))


def _outcome(
    facts: Any, code: str, name: str, *, key: tuple[int, int] = (0, 0), **extra: Any
) -> PeriodOutcome:
    """Return an outcome with the scored facts of a tally or a period score."""
    late = facts.late_days
    due = _EPOCH if late is not None else facts.open_due_at
    return PeriodOutcome(
        assignment_id=key[0],
        department_code=code,
        department_name=name,
        official=facts.official,
        official_name=facts.official_name,
        task_number=extra.get("task_number", 0),
        role=AssignmentRole(facts.role),
        period_index=key[1],
        period_label=extra.get("period_label", ""),
        due_at=due,
        original_due_at=extra.get("original_due_at", due),
        closed_at=None if late is None else _EPOCH + timedelta(days=late),
        approved=facts.approved,
        rating=facts.rating,
        escalation_levels=tuple(int(x) for x in facts.levels.split(",") if x),
        returns=facts.returns,
        extensions_granted=facts.extensions,
        historic=facts.historic,
        event_ids=tuple(extra.get("event_ids", ())),
        events_by_rule={k: tuple(v) for k, v in extra.get("events_by_rule", {}).items()},
        targets_met=facts.targets_met,
        targets_reported=facts.targets_reported,
    )


def ranking(
    *, session: Session, rubric: Rubric, period: str, by: GroupBy, now: datetime
) -> list[ScoreRow]:
    """Return the ranked score rows of a period as of now (totals and breakdowns, no lines):
    the rows `duban.services.assessment.scores` compiles from every event, read from tallies."""
    quarters = quarters_of(period)
    catch_up(session=session, now=now)
    q = (
        select(ScoreTally, Department.code, Department.name)
        .join(Department, Department.id == ScoreTally.department_id)
        .where(ScoreTally.quarter.in_(quarters))
    )
    tallies = ((_outcome(t, code, name), t.periods) for t, code, name in session.execute(q))
    return compile_tallies(tallies, rubric, as_of=now, by=by)


@dataclass(frozen=True)
class _Window:
    lines: list[ScoreLine]
    next: str | None


def _after(cursor: str | None) -> tuple[int, int] | None:
    """Return the (assignment, period) a ledger cursor points after, or raise Invalid."""
    if cursor is None:
        return None
    key = decode_cursor(cursor)
    if len(key) != 2 or not all(isinstance(k, int) and 0 <= k < 2**31 for k in key):
        raise Invalid("翻页游标无效：它不属于这个列表。")
    return int(key[0]), int(key[1])


def _line_window(
    session: Session,
    rubric: Rubric,
    department: Department,
    period: str,
    now: datetime,
    cursor: str | None,
    limit: int,
) -> _Window:
    """Score `limit` scored periods of the department, in (assignment, period) order, after the
    cursor; name the next window when more remain."""
    after = _after(cursor)
    base = select(PeriodScore).where(
        PeriodScore.department_id == department.id,
        PeriodScore.quarter.in_(quarters_of(period)),
        _has_lines(rubric, now),
    )
    order = (PeriodScore.assignment_id, PeriodScore.period_index)
    found = session.scalars(_rest(base, after).order_by(*order).limit(limit + 1)).all()
    lines: list[ScoreLine] = []
    for r in found[:limit]:
        lines += score_period(_ledger_outcome(r, department), rubric, as_of=now)
    more = len(found) > limit
    return _Window(lines, encode_cursor(_key(found[limit - 1])) if more else None)


def _has_lines(rubric: Rubric, now: datetime) -> ColumnElement[bool]:
    """The periods that `duban.scoring.score_period` gives at least one line as of now: not
    history (unless the rubric scores it), and approved, late, escalated, extended or returned.
    (The equivalence test holds it to the rubric's own conditions.)"""
    p = PeriodScore
    scored = or_(
        p.approved,
        p.late_days > 0,
        p.levels != "",
        p.extensions > 0,
        p.returns > 0,
        and_(p.open_due_at.is_not(None), p.open_due_at < now),
    )
    return scored if rubric.score_historic else and_(scored, p.historic.is_(False))


def _key(r: PeriodScore) -> tuple[int, int]:
    return r.assignment_id, r.period_index


def _rest(base: Select[Any], after: tuple[int, int] | None) -> Select[Any]:
    """The periods of `base` after (assignment, period) `after` (all of them for None)."""
    if after is None:
        return base
    a, p = after
    return base.where(
        or_(
            PeriodScore.assignment_id > a,
            and_(PeriodScore.assignment_id == a, PeriodScore.period_index > p),
        )
    )


def _ledger_outcome(r: PeriodScore, department: Department) -> PeriodOutcome:
    """Return a stored period's outcome with everything its lines cite."""
    return _outcome(
        r,
        department.code,
        department.name,
        key=(r.assignment_id, r.period_index),
        task_number=r.task_number,
        period_label=r.label,
        original_due_at=r.original_due_at,
        event_ids=r.event_ids,
        events_by_rule=r.events_by_rule,
    )


def ledger(
    *,
    session: Session,
    rubric: Rubric,
    department: Department,
    period: str,
    now: datetime,
    cursor: str | None = None,
    limit: int = LEDGER_PERIODS,
) -> Ledger:
    """Return a department's row of a period as of now (score, rank, breakdown) and one window
    of its lines with the events they cite; `next` is the cursor of the rest."""
    rows = ranking(session=session, rubric=rubric, period=period, by="department", now=now)
    row = next((r for r in rows if r.key == department.code), None)
    window = _line_window(session, rubric, department, period, now, cursor, limit)
    tasks, refs, titles = _tasks(session, {line.assignment_id for line in window.lines})
    events = events_by_id(session, window.lines)
    return Ledger(
        department,
        period,
        row,
        len(rows),
        events,
        tasks,
        refs,
        titles,
        tuple(window.lines),
        window.next,
    )


def _tasks(
    session: Session, ids: Iterable[int]
) -> tuple[dict[int, int], dict[int, str], dict[int, str]]:
    """Return task number, reference and reference with title of these assignments."""
    wanted = sorted(ids)
    if not wanted:
        return {}, {}, {}
    pairs = session.execute(select_with_item().where(Assignment.id.in_(wanted))).unique().all()
    return (
        {a.id: a.item_number for a, _ in pairs},
        {a.id: item_ref(a, item) for a, item in pairs},
        {a.id: item_ref(a, item) + item_title(a, item) for a, item in pairs},
    )
