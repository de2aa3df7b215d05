"""The leader cockpit: completion, on-time and overdue rates by department, task and quarter."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select
from sqlalchemy.orm import Session

from duban.domain import AssignmentState
from duban.errors import NotFound
from duban.models import (
    Assignment,
    AssignmentPeriod,
    Department,
    Policy,
    PolicyItem,
    PolicyVersion,
)
from duban.services.board import quarter_of


@dataclass(frozen=True)
class PeriodFact:
    """One non-historic period of an assignment, as the cockpit counts it."""

    department_code: str
    department_name: str
    policy_key: str
    item_number: int
    quarter: str
    due: bool
    completed: bool
    on_time: bool
    overdue: bool


@dataclass(frozen=True)
class Rates:
    """Counts and rates of one group; a rate is a share of the periods already due."""

    key: str
    name: str
    periods: int
    due: int
    completed: int
    on_time: int
    overdue: int

    def _share(self, n: int) -> float:
        return n / self.due if self.due else 0.0

    @property
    def completion_rate(self) -> float:
        """Return completed / due."""
        return self._share(self.completed)

    @property
    def on_time_rate(self) -> float:
        """Return completed on time / due."""
        return self._share(self.on_time)

    @property
    def overdue_rate(self) -> float:
        """Return overdue and still open / due."""
        return self._share(self.overdue)

    def to_json(self) -> dict[str, object]:
        """Return the counts and rates (rounded to 4 places) as plain JSON."""
        return {
            "key": self.key,
            "name": self.name,
            "periods": self.periods,
            "due": self.due,
            "completed": self.completed,
            "on_time": self.on_time,
            "overdue": self.overdue,
            "completion_rate": round(self.completion_rate, 4),
            "on_time_rate": round(self.on_time_rate, 4),
            "overdue_rate": round(self.overdue_rate, 4),
        }


@dataclass(frozen=True)
class Cockpit:
    """Overall rates, rates by department and by task, and their trend by quarter."""

    overall: Rates
    by_department: list[Rates]
    by_task: list[Rates]
    trend: list[Rates]


def period_facts(*, session: Session, now: datetime) -> list[PeriodFact]:
    """Return every non-historic period of a current assignment with what it counts as."""
    stmt = (
        select(AssignmentPeriod, Department.code, Department.name, Policy.key, Assignment)
        .join(Assignment, Assignment.id == AssignmentPeriod.assignment_id)
        .join(Department, Department.id == Assignment.department_id)
        .join(Policy, Policy.id == Assignment.policy_id)
        .where(AssignmentPeriod.historic.is_(False), Assignment.removed_in_version.is_(None))
    )
    facts = []
    for period, code, name, policy_key, a in session.execute(stmt).unique():
        closed = period.closed_at is not None or period.state == "approved"
        current = a.period_index == period.index
        due_at = a.due_at if current and a.due_at else period.due_at
        # A report awaiting review is not overdue: the department has done its part.
        waiting = current and a.state == AssignmentState.SUBMITTED
        facts.append(
            PeriodFact(
                department_code=code,
                department_name=name,
                policy_key=policy_key,
                item_number=a.item_number,
                quarter=quarter_of(period.original_due_at),
                due=closed or due_at <= now,
                completed=closed,
                on_time=closed and bool(period.on_time),
                overdue=not closed and not waiting and due_at <= now,
            )
        )
    return facts


def rates(key: str, name: str, facts: Iterable[PeriodFact]) -> Rates:
    """Count the facts of one group."""
    rows = list(facts)
    return Rates(
        key=key,
        name=name,
        periods=len(rows),
        due=sum(f.due for f in rows),
        completed=sum(f.completed for f in rows),
        on_time=sum(f.on_time for f in rows),
        overdue=sum(f.overdue for f in rows),
    )


def _counts(now: datetime) -> tuple[ColumnElement[Any], ...]:
    """Return SQL sums of what period_facts counts per period: periods, due, completed, on time,
    overdue (the same definitions, aggregated by the database)."""
    closed = or_(AssignmentPeriod.closed_at.is_not(None), AssignmentPeriod.state == "approved")
    current = Assignment.period_index == AssignmentPeriod.index
    due_at = case(
        (and_(current, Assignment.due_at.is_not(None)), Assignment.due_at),
        else_=AssignmentPeriod.due_at,
    )
    waiting = and_(current, Assignment.state == AssignmentState.SUBMITTED.value)
    past = due_at <= now

    def total(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return (
        func.count(),
        total(or_(closed, past)),
        total(closed),
        total(and_(closed, AssignmentPeriod.on_time.is_(True))),
        total(and_(not_(closed), not_(waiting), past)),
    )


def _aggregate(
    session: Session, now: datetime, *keys: Any
) -> list[tuple[tuple[Any, ...], tuple[int, ...]]]:
    """Return (group key, counts) of every group of `keys` over the periods period_facts reads."""
    stmt = (
        select(*keys, *_counts(now))
        .select_from(AssignmentPeriod)
        .join(Assignment, Assignment.id == AssignmentPeriod.assignment_id)
        .join(Department, Department.id == Assignment.department_id)
        .join(Policy, Policy.id == Assignment.policy_id)
        .where(
            AssignmentPeriod.historic.is_(False),
            Assignment.removed_in_version.is_(None),
            Assignment.pending_start.is_(False),
        )
        .group_by(*keys)
    )
    k = len(keys)
    return [(tuple(row[:k]), tuple(int(v) for v in row[k:])) for row in session.execute(stmt)]


def _rates(key: str, name: str, counts: Sequence[int]) -> Rates:
    periods, due, completed, on_time, overdue = counts
    return Rates(key, name, periods, due, completed, on_time, overdue)


def _add(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def cockpit(*, session: Session, now: datetime, titles: dict[str, str] | None = None) -> Cockpit:
    """Return the cockpit's figures; tasks are keyed `policy#item`, named from `titles`.

    The database sums the periods per department, per task and per due date (a handful of
    dates: quarters are merged here), so the page costs three aggregates, not a row per period.
    """
    names = titles or {}
    zero = (0, 0, 0, 0, 0)
    by_dept = [
        _rates(code, name, c)
        for (code, name), c in _aggregate(session, now, Department.code, Department.name)
    ]
    by_task = []
    for (policy_key, number), c in _aggregate(session, now, Policy.key, Assignment.item_number):
        key = f"{policy_key}#{number}"
        by_task.append(_rates(key, names.get(key, f"第 {number} 项"), c))
    quarters: dict[str, tuple[int, ...]] = {}
    overall: tuple[int, ...] = zero
    for (due,), c in _aggregate(session, now, AssignmentPeriod.original_due_at):
        overall = _add(overall, c)
        q = quarter_of(due)
        quarters[q] = _add(quarters.get(q, zero), c)
    current = quarter_of(now)
    trend = [_rates(q, q, c) for q, c in quarters.items() if q <= current]
    return Cockpit(
        overall=_rates("all", "全部", overall),
        by_department=sorted(by_dept, key=lambda r: (-r.overdue_rate, -r.overdue, r.name)),
        by_task=sorted(by_task, key=_task_order),
        trend=sorted(trend, key=lambda r: r.key),
    )


def _task_order(r: Rates) -> tuple[str, int]:
    policy, _, number = r.key.rpartition("#")
    return (policy, int(number))


def task_titles(*, session: Session) -> dict[str, str]:
    """Return `policy#item` -> "（n）title" (the item's own label when it has one) for every task.

    One row per task (not per assignment): the database keeps the distinct ones.
    """
    item_join = and_(
        PolicyItem.version_id == PolicyVersion.id, PolicyItem.number == Assignment.item_number
    )
    version_join = and_(
        PolicyVersion.policy_id == Assignment.policy_id,
        PolicyVersion.version == Policy.current_version,
    )
    stmt = (
        select(Policy.key, Assignment.item_number, PolicyItem.label, PolicyItem.title)
        .select_from(Assignment)
        .join(Policy, Policy.id == Assignment.policy_id)
        .outerjoin(PolicyVersion, version_join)
        .outerjoin(PolicyItem, item_join)
        .where(Assignment.removed_in_version.is_(None), Assignment.pending_start.is_(False))
        .distinct()
    )
    out: dict[str, str] = {}
    for key, number, label, title in session.execute(stmt):
        found: str | None = title  # None: no item in the current version (outer join)
        ref = label or f"（{number}）"  # as item_ref and item_title name it
        out[f"{key}#{number}"] = ref + (found if found is not None else f"第 {number} 项")
    return out


@dataclass(frozen=True)
class TreeRates:
    """The cockpit drilled down the organisation tree: where one stands, and each unit below it."""

    under: Department | None
    path: list[Department]
    units: list[Rates]  # one per unit directly below, counting its whole subtree


def tree_rates(*, session: Session, now: datetime, under: str = "") -> TreeRates:
    """Group the periods by the unit directly below `under` (the roots when empty) they fall in."""
    rows = {d.code: d for d in session.scalars(select(Department))}
    by_id = {d.id: d for d in rows.values()}
    top = rows.get(under) if under else None
    if under and top is None:
        raise NotFound(f"单位不存在：{under}")

    def branch(code: str) -> Department | None:
        """Return the ancestor of `code` just below `top` (or the root), None if outside."""
        node: Department | None = rows.get(code)
        seen: set[int] = set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            parent = by_id.get(node.parent_id) if node.parent_id is not None else None
            if (top is None and parent is None) or (top is not None and parent is top):
                return node
            node = parent
        return None

    groups: dict[str, list[PeriodFact]] = {}
    for fact in period_facts(session=session, now=now):
        if top is not None and fact.department_code == top.code:
            groups.setdefault(top.code, []).append(fact)
            continue
        node = branch(fact.department_code)
        if node is not None:
            groups.setdefault(node.code, []).append(fact)
    units = [rates(code, rows[code].name, facts) for code, facts in groups.items()]
    path: list[Department] = []
    at, seen = top, set()
    while at is not None and at.id not in seen:
        seen.add(at.id)
        path.insert(0, at)
        at = by_id.get(at.parent_id) if at.parent_id is not None else None
    return TreeRates(top, path, sorted(units, key=lambda r: (-r.overdue_rate, r.name)))
