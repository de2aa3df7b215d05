"""The supervisor's overdue board: every assignment with its light, grouped, counted and mapped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from duban.models import (
    Assignment,
    AssignmentMessage,
    AssignmentPeriod,
    Department,
    Policy,
    PolicyItem,
)
from duban.rules import Projection
from duban.scoring import period_bounds
from duban.services.assignment import (
    DONE_STATES,
    ItemSelect,
    Light,
    StatusLight,
    item_ref,
    item_title,
    select_with_item,
    status_light,
)
from duban.services.conversation import last_urges
from duban.services.orgtree import descendants
from duban.services.paging import instant
from duban.services.target import projected_misses

CHINA = ZoneInfo("Asia/Shanghai")
LIGHTS = (Light.RED, Light.AMBER, Light.GREEN)


@dataclass(frozen=True)
class BoardFilter:
    """What the board is narrowed to; empty values mean no filter."""

    policy: str = ""
    section: int | None = None
    item: int | None = None
    department: str = ""
    level: int | None = None
    period: str = ""
    light: Light | None = None
    q: str = ""  # words in the task's number or title, or the department's name
    under: str = ""  # a unit of the organisation tree: it and every unit below it (drill-down)

    def query(self, **changes: object) -> dict[str, str]:
        """Return the non-empty filters (with `changes`) as query parameters for a board link."""
        values = {
            "policy": self.policy,
            "section": self.section,
            "item": self.item,
            "department": self.department,
            "level": self.level,
            "period": self.period,
            "light": self.light.value if self.light else None,
            "q": self.q,
            "under": self.under,
            **changes,
        }
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


@dataclass(frozen=True)
class BoardRow:
    """One assignment on the board."""

    assignment: Assignment
    title: str
    section_number: int
    section_title: str
    light: StatusLight
    days_late: int
    ref: str

    @property
    def done(self) -> bool:
        """Tell whether the assignment is finished."""
        return self.assignment.state in DONE_STATES


@dataclass
class Group:
    """Rows of one department or one task, with their light counts."""

    key: str
    name: str
    rows: list[BoardRow] = field(default_factory=list)
    counts: dict[Light, int] = field(default_factory=lambda: dict.fromkeys(LIGHTS, 0))

    @property
    def worst(self) -> Light:
        """Return the worst light among the rows."""
        return next((light for light in LIGHTS if self.counts[light]), Light.GREEN)


@dataclass(frozen=True)
class HeatCell:
    """A department x task cell: its worst light and how many assignments it holds."""

    light: Light
    count: int
    red: int


@dataclass(frozen=True)
class Options:
    """The values each filter may take, from the assignments on record."""

    policies: list[tuple[str, str]]
    sections: list[tuple[int, str]]
    items: list[tuple[int, str]]
    departments: list[tuple[str, str]]
    periods: list[str]


@dataclass(frozen=True)
class Board:
    """The filtered rows sorted by lateness, counts before the light filter, groups and the heat map."""

    rows: list[BoardRow]
    counts: dict[Light, int]
    total: int
    by_department: list[Group]
    by_task: list[Group]
    heat: dict[tuple[str, str], HeatCell]
    # The latest 催办 of each row that was urged (shown after a reload, with its message).
    urges: dict[int, AssignmentMessage] = field(default_factory=dict)
    # 层层分解: the sub-assignments of each row that has any, whatever the filters.
    children: dict[int, list[BoardRow]] = field(default_factory=dict)


def task_key(policy_key: str, item_number: int) -> str:
    """Return the key of a task on the board (policy key and item number)."""
    return f"{policy_key}#{item_number}"


def lateness_key(row: BoardRow) -> tuple[int, int, int, float, int]:
    """Sort key: unfinished first, red before amber before green, most days late first, then
    the earliest due; the id last, so the order is total (the API pages by this key)."""
    order = LIGHTS.index(row.light.color)
    return (int(row.done), order, -row.days_late, instant(row.assignment.due_at), row.assignment.id)


def _narrow(stmt: ItemSelect, f: BoardFilter) -> ItemSelect:
    """Apply the filters that SQL can answer."""
    stmt = stmt.where(Assignment.removed_in_version.is_(None))
    if f.policy:
        stmt = stmt.where(Policy.key == f.policy)
    if f.section is not None:
        stmt = stmt.where(PolicyItem.section_number == f.section)
    if f.item is not None:
        stmt = stmt.where(Assignment.item_number == f.item)
    if f.department:
        stmt = stmt.where(Department.code == f.department)
    if f.level is not None:
        stmt = stmt.where(Assignment.escalation_level == f.level)
    if f.period:
        start, end = period_bounds(f.period)
        stmt = stmt.where(
            exists().where(
                AssignmentPeriod.assignment_id == Assignment.id,
                AssignmentPeriod.original_due_at >= start,
                AssignmentPeriod.original_due_at < end,
            )
        )
    return stmt


def matches(row: BoardRow, q: str) -> bool:
    """Tell whether a row's task number, title or department name holds the search text."""
    a = row.assignment
    return any(q in text for text in (row.ref, row.title, a.department.name, a.department.code))


def _row(
    a: Assignment, item: PolicyItem | None, now: datetime, miss: Projection | None = None
) -> BoardRow:
    light = status_light(due_at=a.due_at, now=now, state=a.state, miss=miss)
    late = (now - a.due_at).days if a.due_at and light.color == Light.RED else 0
    section = (item.section_number, item.section_title) if item else (0, "")
    return BoardRow(a, item_title(a, item), section[0], section[1], light, late, item_ref(a, item))


def _group(rows: Iterable[BoardRow], key_name: tuple[str, str], into: dict[str, Group]) -> None:
    """Add rows to the group named by key_name, creating it on first use."""
    key, name = key_name
    group = into.setdefault(key, Group(key, name))
    for row in rows:
        group.rows.append(row)
        group.counts[row.light.color] += 1


def board(*, session: Session, now: datetime, filters: BoardFilter) -> Board:
    """Return every assignment matching the filters with its light, sorted by lateness."""
    stmt = _narrow(select_with_item(), filters)
    if filters.under:
        stmt = stmt.where(Assignment.department_id.in_(_subtree(session, filters.under)))
    found = list(session.execute(stmt).unique())
    misses = projected_misses(session=session, assignments=[a for a, _ in found], today=now.date())
    everything = [_row(a, item, now, misses.get(a.id)) for a, item in found]
    if filters.q:
        everything = [r for r in everything if matches(r, filters.q)]
    counts = dict.fromkeys(LIGHTS, 0)
    for r in everything:
        counts[r.light.color] += 1
    rows = sorted(
        (r for r in everything if filters.light in (None, r.light.color)), key=lateness_key
    )
    by_dept: dict[str, Group] = {}
    by_task: dict[str, Group] = {}
    heat: dict[tuple[str, str], list[BoardRow]] = {}
    for r in rows:
        a = r.assignment
        tkey = task_key(a.policy.key, a.item_number)
        _group([r], (a.department.code, a.department.name), by_dept)
        _group([r], (tkey, f"{r.ref}{r.title}"), by_task)
        heat.setdefault((a.department.code, tkey), []).append(r)
    return Board(
        rows=rows,
        counts=counts,
        total=len(everything),
        by_department=sorted(by_dept.values(), key=_group_order),
        by_task=sorted(by_task.values(), key=_task_order),
        heat={k: _cell(v) for k, v in heat.items()},
        urges=last_urges(session=session, assignment_ids=[r.assignment.id for r in rows]),
        children=_children(session, [r.assignment.id for r in rows], now),
    )


def _subtree(session: Session, code: str) -> list[int]:
    """Return the ids of the unit `code` and of every unit below it (none if unknown)."""
    top = session.scalar(select(Department.id).where(Department.code == code))
    if top is None:
        return []
    return [top, *(d.id for d in descendants(session=session, department_id=top))]


def _children(session: Session, ids: list[int], now: datetime) -> dict[int, list[BoardRow]]:
    """Return the sub-assignments of the given assignments, grouped by parent."""
    out: dict[int, list[BoardRow]] = {}
    if not ids:
        return out
    stmt = select_with_item().where(Assignment.parent_id.in_(ids)).order_by(Assignment.id)
    for a, item in session.execute(stmt).unique():
        assert a.parent_id is not None
        out.setdefault(a.parent_id, []).append(_row(a, item, now))
    return out


def _group_order(g: Group) -> tuple[int, int, str]:
    return (-g.counts[Light.RED], -g.counts[Light.AMBER], g.name)


def _task_order(g: Group) -> tuple[str, int]:
    policy, _, number = g.key.rpartition("#")
    return (policy, int(number))


def _cell(rows: list[BoardRow]) -> HeatCell:
    colors = {r.light.color for r in rows}
    worst = next(light for light in LIGHTS if light in colors)
    return HeatCell(worst, len(rows), sum(r.light.color == Light.RED for r in rows))


def options(*, session: Session) -> Options:
    """Return the choices of every board filter.

    Each list is the distinct values the database finds among the board's assignments: a few
    rows per policy, task and department, not a row per assignment.
    """
    base = _narrow(select_with_item(), BoardFilter())

    def distinct(*columns: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in session.execute(base.with_only_columns(*columns).distinct())]

    items: dict[int, str] = {}
    for number, label, title in distinct(
        Assignment.item_number, PolicyItem.label, PolicyItem.title
    ):
        found: str | None = title  # None: no item in the current version (outer join)
        items[number] = (label or f"（{number}）") + (
            found if found is not None else f"第 {number} 项"
        )
    sections = {
        number: title
        for number, title in distinct(PolicyItem.section_number, PolicyItem.section_title)
        if number is not None
    }
    return Options(
        policies=sorted((str(k), str(t)) for k, t in distinct(Policy.key, Policy.title)),
        sections=sorted(sections.items()),
        items=sorted(items.items()),
        departments=sorted(
            ((str(c), str(n)) for c, n in distinct(Department.code, Department.name)),
            key=lambda kv: kv[1],
        ),
        periods=period_labels(session=session),
    )


def quarter_of(at: datetime) -> str:
    """Return the quarter label ("2026Q4", China time) of a moment."""
    local = at.astimezone(CHINA)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def period_labels(*, session: Session) -> list[str]:
    """Return the quarters in which some period was originally due, in order."""
    dues = session.scalars(
        select(AssignmentPeriod.original_due_at)
        .where(AssignmentPeriod.historic.is_(False))
        .distinct()
    )
    return sorted({quarter_of(d) for d in dues})
