"""The bridge from the read model to scoring: period outcomes, scores and a department's ledger."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from duban.domain import AssignmentRole
from duban.errors import Invalid, NotFound
from duban.models import (
    Assignment,
    AssignmentPeriod,
    AuditEvent,
    Department,
    Escalation,
    Extension,
    Submission,
)
from duban.scoring import (
    CHINA_TZ,
    GroupBy,
    PeriodOutcome,
    ScoreLine,
    ScoreRow,
    compile_scores,
    period_bounds,
)
from duban.services.assignment import item_ref, item_title, select_with_title
from duban.services.head_term import Term, head_at, head_terms
from duban.services.target import period_attainment
from policies.rubric import Rubric

_PERIOD_KEY = re.compile(r"p(\d+)")
# Which recorded kinds stand behind each rule's lines (the rest of a period's events stay in event_ids).
_RULE_KINDS: dict[str, frozenset[str]] = {
    "completion": frozenset({"submitted", "period_closed"}),
    "rating": frozenset(),
    "lateness": frozenset({"period_opened", "due_moved", "submitted", "period_closed"}),
    "escalation": frozenset({"escalation_l1", "escalation_l2", "escalation_l3"}),
    "extension": frozenset({"extension_requested"}),
    "return": frozenset(),
}
PeriodKey = tuple[int, int]


@dataclass
class _Events:
    """A period's event ids, all of them and per rule."""

    all: list[int]
    by_rule: dict[str, list[int]]


def check_period(label: str) -> str:
    """Return an assessment period label such as 2026 or 2026Q4, or raise Invalid."""
    try:
        period_bounds(label)
    except ValueError as exc:
        raise Invalid("考核周期格式应为 2026 或 2026Q4") from exc
    return label


def current_quarter(now: datetime) -> str:
    """Return the assessment quarter (China time) that `now` falls in, e.g. 2026Q4."""
    local = now.astimezone(CHINA_TZ)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def _period_rows(
    session: Session,
    period: str | None,
    department_id: int | None,
    assignment_ids: Collection[int] | None,
) -> list[Any]:
    """Return one row per assignment period with its assignment and department columns."""
    q = (
        select(
            AssignmentPeriod.assignment_id,
            AssignmentPeriod.index,
            AssignmentPeriod.label,
            AssignmentPeriod.due_at,
            AssignmentPeriod.original_due_at,
            AssignmentPeriod.closed_at,
            AssignmentPeriod.state,
            AssignmentPeriod.rating,
            AssignmentPeriod.historic,
            Assignment.item_number,
            Assignment.role,
            Assignment.removed_in_version,
            Department.id.label("department_id"),
            Department.code,
            Department.name,
        )
        .join(Assignment, Assignment.id == AssignmentPeriod.assignment_id)
        .join(Department, Department.id == Assignment.department_id)
    )
    if period is not None:
        start, end = period_bounds(period)
        q = q.where(
            AssignmentPeriod.original_due_at >= start, AssignmentPeriod.original_due_at < end
        )
    if department_id is not None:
        q = q.where(Assignment.department_id == department_id)
    if assignment_ids is not None:
        q = q.where(AssignmentPeriod.assignment_id.in_(assignment_ids))
    return list(session.execute(q.order_by(AssignmentPeriod.assignment_id, AssignmentPeriod.index)))


def _counts(session: Session, q: Select[int, int, int]) -> dict[PeriodKey, int]:
    """Run a (assignment_id, period_index, count) query into a dict."""
    return {(a, p): n for a, p, n in session.execute(q)}


def _levels(
    session: Session, ids: set[int], as_of: datetime, only: Collection[int] | None
) -> dict[PeriodKey, list[int]]:
    """Return the escalation levels reached by `as_of`, per period."""
    out: dict[PeriodKey, list[int]] = defaultdict(list)
    q = select(Escalation.assignment_id, Escalation.period_index, Escalation.level).where(
        Escalation.reached_at <= as_of
    )
    if only is not None:
        q = q.where(Escalation.assignment_id.in_(only))
    for a, p, level in session.execute(q.order_by(Escalation.level)):
        if a in ids:
            out[(a, p)].append(level)
    return out


def _returns(
    session: Session, as_of: datetime, only: Collection[int] | None
) -> dict[PeriodKey, int]:
    """Return how many submissions were returned by `as_of`, per period."""
    q = select(Submission.assignment_id, Submission.period_index, func.count()).where(
        Submission.state == "returned", Submission.reviewed_at <= as_of
    )
    if only is not None:
        q = q.where(Submission.assignment_id.in_(only))
    return _counts(session, q.group_by(Submission.assignment_id, Submission.period_index))


def _extensions(
    session: Session, as_of: datetime, only: Collection[int] | None
) -> dict[PeriodKey, int]:
    """Return how many extensions were granted by `as_of`, per period."""
    q = select(Extension.assignment_id, Extension.period_index, func.count()).where(
        Extension.state == "granted", Extension.decided_at <= as_of
    )
    if only is not None:
        q = q.where(Extension.assignment_id.in_(only))
    return _counts(session, q.group_by(Extension.assignment_id, Extension.period_index))


_KIND_RULES: dict[str, tuple[str, ...]] = {}
_DATA_KINDS = ("reviewed", "extension_decided")  # the only kinds whose rules depend on their data


def _rules_of(kind: str, data: dict[str, Any] | None) -> tuple[str, ...]:
    """Return the rules an event stands behind."""
    if kind == "reviewed" and data is not None:
        return ("completion", "rating") if data.get("decision") == "approve" else ("return",)
    if kind == "extension_decided" and data is not None:
        return ("extension", "lateness") if data.get("grant") else ()
    if (hit := _KIND_RULES.get(kind)) is None:
        hit = tuple(r for r, kinds in _RULE_KINDS.items() if kind in kinds)
        if kind.startswith("escalation_l"):  # each rung's line cites its own event
            hit += (f"escalation:{kind.removeprefix('escalation_l')}",)
        _KIND_RULES[kind] = hit
    return hit


def period_of_key(key: str, kind: str) -> int | None:
    """Return the period index of an event key `{workflow id}:p{n}:{kind}:{step}`, or None."""
    at = key.find(f":{kind}:")
    if at < 0:
        return None
    match = _PERIOD_KEY.fullmatch(key, key.rfind(":", 0, at) + 1, at)
    return int(match[1]) if match else None


def _events(
    session: Session, ids: set[int], as_of: datetime, only: Collection[int] | None
) -> dict[PeriodKey, _Events]:
    """Return the audit events recorded by `as_of` per period (the period is in the event key)."""
    out: dict[PeriodKey, _Events] = {}
    cut: tuple[Any, ...] = (AuditEvent.assignment_id.is_not(None), AuditEvent.at <= as_of)
    if only is not None:
        cut = (AuditEvent.assignment_id.in_(only), AuditEvent.at <= as_of)
    data: dict[int, dict[str, Any]] = dict(
        session.execute(
            select(AuditEvent.id, AuditEvent.data).where(*cut, AuditEvent.kind.in_(_DATA_KINDS))
        ).all()
    )
    q = select(AuditEvent.id, AuditEvent.assignment_id, AuditEvent.key, AuditEvent.kind)
    for event_id, aid, key, kind in session.execute(q.where(*cut).order_by(AuditEvent.id)):
        if aid not in ids or (index := period_of_key(key, kind)) is None:
            continue
        bucket = out.get((aid, index))
        if bucket is None:
            bucket = out[(aid, index)] = _Events([], defaultdict(list))
        bucket.all.append(event_id)
        for rule in _rules_of(kind, data.get(event_id)):
            bucket.by_rule[rule].append(event_id)
    return out


def load_outcomes(
    *,
    session: Session,
    as_of: datetime,
    period: str | None = None,
    department_id: int | None = None,
    assignment_ids: Collection[int] | None = None,
    terms: dict[int, list[Term]] | None = None,
) -> list[PeriodOutcome]:
    """Build every period's outcome as recorded by `as_of`, in a handful of set-based queries
    (of the given assignments only, when `assignment_ids` names them)."""
    only = assignment_ids
    rows = _period_rows(session, period, department_id, only)
    ids = {r.assignment_id for r in rows}
    if terms is None:
        terms = head_terms(session=session)
    levels = _levels(session, ids, as_of, only)
    returns, extensions = _returns(session, as_of, only), _extensions(session, as_of, only)
    events = _events(session, ids, as_of, only)
    attained = period_attainment(session=session, assignment_ids=ids, as_of=as_of)
    none = _Events([], {})
    out: list[PeriodOutcome] = []
    for r in rows:
        closed = r.closed_at if r.closed_at is not None and r.closed_at <= as_of else None
        if r.removed_in_version is not None and closed is None:
            continue  # the task left the policy: an open period is nobody's fault
        pk, head = (
            (r.assignment_id, r.index),
            head_at(terms.get(r.department_id, []), r.original_due_at),
        )
        ev = events.get(pk, none)
        approved = closed is not None and r.state == "approved"
        out.append(
            PeriodOutcome(
                assignment_id=r.assignment_id,
                department_code=r.code,
                department_name=r.name,
                official=head.username if head else None,
                official_name=head.name if head else None,
                task_number=r.item_number,
                role=AssignmentRole(r.role),
                period_index=r.index,
                period_label=r.label,
                due_at=r.due_at,
                original_due_at=r.original_due_at,
                closed_at=closed,
                approved=approved,
                rating=r.rating if approved else None,
                escalation_levels=tuple(levels.get(pk, ())),
                returns=returns.get(pk, 0),
                extensions_granted=extensions.get(pk, 0),
                historic=r.historic,
                event_ids=tuple(ev.all),
                events_by_rule={rule: tuple(ids_) for rule, ids_ in ev.by_rule.items()},
                targets_met=attained.get(pk, (0, 0))[0],
                targets_reported=attained.get(pk, (0, 0))[1],
            )
        )
    return out


def scores(
    *, session: Session, rubric: Rubric, period: str, by: GroupBy, as_of: datetime
) -> list[ScoreRow]:
    """Compile the ranked score rows of a period from the read model."""
    outcomes = load_outcomes(session=session, as_of=as_of, period=check_period(period))
    return compile_scores(outcomes, rubric, as_of=as_of, by=by, period=period)


def department_by_code(*, session: Session, code: str) -> Department:
    """Return a department by its code, or raise NotFound."""
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise NotFound("单位不存在")
    return dept


@dataclass(frozen=True)
class Ledger:
    """A department's row of a period (None when it has nothing scored) and its lines, explained."""

    department: Department
    period: str
    row: ScoreRow | None
    rank_of: int
    events: dict[int, AuditEvent]
    task_numbers: dict[int, int]
    task_refs: dict[int, str] = field(default_factory=dict)
    # The task as a reader knows it: its number as written and its title.
    task_titles: dict[int, str] = field(default_factory=dict)
    # The lines shown: all of them, or one window of the period's lines and the cursor of the rest.
    lines: tuple[ScoreLine, ...] = ()
    next: str | None = None

    @property
    def scored(self) -> bool:
        """Tell whether anything of the period has been scored for the department yet."""
        return self.row is not None and bool(self.row.breakdown)


def events_by_id(session: Session, lines: Iterable[ScoreLine]) -> dict[int, AuditEvent]:
    """Return the audit events that the lines cite."""
    wanted = sorted({i for line in lines for i in line.event_ids})
    found: dict[int, AuditEvent] = {}
    for start in range(0, len(wanted), 500):  # keep IN lists short on every backend
        chunk = wanted[start : start + 500]
        found.update(
            (e.id, e) for e in session.scalars(select(AuditEvent).where(AuditEvent.id.in_(chunk)))
        )
    return found


def task_titles(*, session: Session, rows: Iterable[ScoreRow]) -> dict[int, str]:
    """Return each scored task as a reader knows it (number as written and title), by assignment."""
    ids = sorted({line.assignment_id for row in rows for line in row.lines})
    titles: dict[int, str] = {}
    for start in range(0, len(ids), 500):  # keep IN lists short on every backend
        q = select_with_title().where(Assignment.id.in_(ids[start : start + 500]))
        titles.update(
            (a.id, item_ref(a, item) + item_title(a, item))
            for a, item in session.execute(q).unique()
        )
    return titles


def scored_assignments(*, session: Session, rows: Iterable[ScoreRow]) -> list[Assignment]:
    """Return the assignments the rows score, in task order."""
    ids = sorted({line.assignment_id for row in rows for line in row.lines})
    found: list[Assignment] = []
    for start in range(0, len(ids), 500):  # keep IN lists short on every backend
        found += session.scalars(
            select(Assignment).where(Assignment.id.in_(ids[start : start + 500]))
        )
    return sorted(found, key=lambda a: (a.policy_id, a.item_number, a.role != "lead", a.id))


def department_ledger(
    *, session: Session, rubric: Rubric, department: Department, period: str, as_of: datetime
) -> Ledger:
    """Return a department's score of a period with every line, its events and its rank."""
    rows = scores(session=session, rubric=rubric, period=period, by="department", as_of=as_of)
    row = next((r for r in rows if r.key == department.code), None)
    lines = row.lines if row else ()
    q = select_with_title().where(Assignment.department_id == department.id)
    pairs = session.execute(q).unique().all()
    tasks = {a.id: a.item_number for a, _ in pairs}
    refs = {a.id: item_ref(a, item) for a, item in pairs}
    titles = {a.id: item_ref(a, item) + item_title(a, item) for a, item in pairs}
    events = events_by_id(session, lines)
    return Ledger(department, period, row, len(rows), events, tasks, refs, titles, tuple(lines))
