"""The leader cockpit: completion, on-time and overdue rates by department, task and quarter."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.domain import AssignmentState
from duban.errors import NotFound
from duban.models import Assignment, AssignmentPeriod, Department, Policy
from duban.services.assignment import item_ref, item_title, select_with_item
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


def _grouped(facts: list[PeriodFact], key: Callable[[PeriodFact], tuple[str, str]]) -> list[Rates]:
    groups: dict[tuple[str, str], list[PeriodFact]] = {}
    for fact in facts:
        groups.setdefault(key(fact), []).append(fact)
    return [rates(k, n, rows) for (k, n), rows in groups.items()]


def cockpit(*, session: Session, now: datetime, titles: dict[str, str] | None = None) -> Cockpit:
    """Return the cockpit's figures; tasks are keyed `policy#item`, named from `titles`."""
    facts = period_facts(session=session, now=now)
    names = titles or {}
    by_dept = _grouped(facts, lambda f: (f.department_code, f.department_name))
    by_task = _grouped(
        facts,
        lambda f: (
            f"{f.policy_key}#{f.item_number}",
            names.get(f"{f.policy_key}#{f.item_number}", f"第 {f.item_number} 项"),
        ),
    )
    current = quarter_of(now)
    trend = _grouped([f for f in facts if f.quarter <= current], lambda f: (f.quarter, f.quarter))
    return Cockpit(
        overall=rates("all", "全部", facts),
        by_department=sorted(by_dept, key=lambda r: (-r.overdue_rate, -r.overdue, r.name)),
        by_task=sorted(by_task, key=_task_order),
        trend=sorted(trend, key=lambda r: r.key),
    )


def _task_order(r: Rates) -> tuple[str, int]:
    policy, _, number = r.key.rpartition("#")
    return (policy, int(number))


def task_titles(*, session: Session) -> dict[str, str]:
    """Return `policy#item` -> "（n）title" (the item's own label when it has one) for every task."""
    stmt = select_with_item().where(Assignment.removed_in_version.is_(None))
    return {
        f"{a.policy.key}#{a.item_number}": f"{item_ref(a, item)}{item_title(a, item)}"
        for a, item in session.execute(stmt).unique()
    }


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
