"""The supervisor's overdue board: every assignment with its light, grouped, counted and mapped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from duban.db import UTCDateTime
from duban.models import (
    Assignment,
    AssignmentMessage,
    AssignmentPeriod,
    Department,
    Policy,
    PolicyItem,
    PolicyVersion,
)
from duban.rules import LIGHT_RANK, Projection
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
from duban.services.light import done_flag, light_rank, projected
from duban.services.orgtree import descendants
from duban.services.paging import NEVER, Slice, list_cursor, list_key, micros, of_micros

CHINA = ZoneInfo("Asia/Shanghai")
LIGHTS = (Light.RED, Light.AMBER, Light.GREEN)
BY_RANK = {rank: light for light, rank in LIGHT_RANK.items()}


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
    def size(self) -> int:
        """Return how many rows the group holds (its `rows` are the first GROUP_ROWS)."""
        return sum(self.counts.values())

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


GroupView = Literal["department", "task", "heat"]


@dataclass(frozen=True)
class GroupWindow:
    """What a grouped view shows: the cards of one window of departments or tasks (each with
    its first GROUP_ROWS rows), or the heat map's rows (every department) by one window of task
    columns. `offset`/`limit` count groups (task columns for the heat map)."""

    view: GroupView
    offset: int = 0
    limit: int | None = None

    def cut(self, groups: list[Group]) -> list[Group]:
        """Return the window of the sorted groups."""
        return groups[self.offset : None if self.limit is None else self.offset + self.limit]


@dataclass(frozen=True)
class Board:
    """One window of the filtered rows sorted by lateness, the counts per light before the light
    filter, and (when asked) one window of a grouped view of every filtered row."""

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
    shown: int = 0  # how many rows the light filter leaves (the rows are a window of them)
    more: bool = False  # whether rows follow the window
    # The ids of every row the filters leave (light included), as SQL, for counts beside the board.
    ids: Select[tuple[int]] | None = None
    groups_total: int = 0  # how many groups the grouped view pages through (all windows)


GROUP_ROWS = 8  # rows shown under each group of the grouped views
CURSOR = "board"


def task_key(policy_key: str, item_number: int) -> str:
    """Return the key of a task on the board (policy key and item number)."""
    return f"{policy_key}#{item_number}"


def lateness_key(row: BoardRow) -> tuple[int, int, int, int]:
    """Sort key: unfinished first, red before amber before green, then the earliest due (the
    most days late first among the red), missing due days last; the id last, so the order is
    total. `_order` is the same key in SQL; the API's cursor is it."""
    return (
        int(row.done),
        LIGHT_RANK[row.light.color],
        micros(row.assignment.due_at),
        row.assignment.id,
    )


def board_cursor(row: BoardRow) -> str:
    """Return the API cursor of the rows after `row`."""
    return list_cursor(CURSOR, lateness_key(row))


def board_after(cursor: str) -> tuple[int, ...]:
    """Return the sort key a board cursor names, or raise Invalid (a 422)."""
    return list_key(CURSOR, cursor, 4, times=(2,))


def _order(rank: ColumnElement[int]) -> tuple[Any, ...]:
    due = func.coalesce(Assignment.due_at, literal(NEVER, UTCDateTime()))
    return (done_flag(), rank, due, Assignment.id)


def ref_sql() -> ColumnElement[str]:
    """Return `item_ref` as SQL (the label as written, else （n）), over `select_with_item`."""
    fallback = literal("（") + cast(Assignment.item_number, String) + literal("）")
    labelled = and_(PolicyItem.label.is_not(None), PolicyItem.label != "")
    return case((labelled, PolicyItem.label), else_=fallback)


def title_sql() -> ColumnElement[str]:
    """Return `item_title` as SQL (the current item's title, else 第 n 项)."""
    fallback = literal("第 ") + cast(Assignment.item_number, String) + literal(" 项")
    return case((PolicyItem.id.is_not(None), PolicyItem.title), else_=fallback)


def search_sql(q: str, *, codes: bool = True) -> ColumnElement[bool]:
    """Return SQL telling whether a row's task number, title or department name (and code)
    holds the text `q` (`matches` on the rows)."""
    texts = [ref_sql(), title_sql(), Department.name, *([Department.code] if codes else [])]
    return or_(*(t.contains(q, autoescape=True) for t in texts))


def _narrow(stmt: ItemSelect, f: BoardFilter, session: Session | None = None) -> ItemSelect:
    """Apply the filters but the light, all in SQL."""
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
    if f.q:
        stmt = stmt.where(search_sql(f.q))
    if f.under and session is not None:
        stmt = stmt.where(Assignment.department_id.in_(_subtree(session, f.under)))
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


@dataclass(frozen=True)
class _Scope:
    """The filtered statement, its light column and the projected misses it was built with."""

    stmt: ItemSelect
    lit: ItemSelect  # with the light filter too
    rank: ColumnElement[int]
    missed: dict[int, Projection]  # the assignments a projected target miss turns amber


def _scope(session: Session, now: datetime, filters: BoardFilter) -> _Scope:
    missed = projected(session=session, now=now)
    rank = light_rank(now=now, missed=missed)
    stmt = _narrow(select_with_item(), filters, session)
    lit = stmt if filters.light is None else stmt.where(rank == LIGHT_RANK[filters.light])
    return _Scope(stmt, lit, rank, missed)


def _rows(
    session: Session, stmt: ItemSelect, now: datetime, missed: dict[int, Projection]
) -> list[BoardRow]:
    """Load the rows a statement selects, with their lights (and the reason of a target miss)."""
    return [_row(a, item, now, missed.get(a.id)) for a, item in session.execute(stmt).unique()]


def board(
    *,
    session: Session,
    now: datetime,
    filters: BoardFilter,
    part: Slice | None = None,
    groups: GroupWindow | None = None,
) -> Board:
    """Return a window (`part`; all rows by default) of the assignments matching the filters,
    sorted by lateness, with the counts per light; with `groups`, one window of a grouped view
    of every matching row too. Filters, counts, order and windows are SQL."""
    part = part or Slice()
    sc = _scope(session, now, filters)
    counts = dict.fromkeys(LIGHTS, 0)
    tally = sc.stmt.with_only_columns(sc.rank, func.count()).group_by(sc.rank)
    for rank, n in session.execute(tally):
        counts[BY_RANK[int(rank)]] = int(n)
    order = _order(sc.rank)
    stmt = sc.lit.order_by(*order)
    if part.after is not None:
        due = of_micros(part.after[2])
        stmt = stmt.where(
            tuple_(*order) > tuple_(*part.after[:2], literal(due, UTCDateTime()), part.after[3])
        )
    if part.offset:
        stmt = stmt.offset(part.offset)
    if part.limit is not None:
        # Sort and window the ids alone (narrow rows), then load the window's rows.
        ids = list(session.scalars(stmt.with_only_columns(Assignment.id).limit(part.limit + 1)))
        stmt = select_with_item().where(Assignment.id.in_(ids))
        place = {aid: i for i, aid in enumerate(ids)}
        rows = sorted(_rows(session, stmt, now, sc.missed), key=lambda r: place[r.assignment.id])
    else:
        rows = _rows(session, stmt, now, sc.missed)
    more = part.limit is not None and len(rows) > part.limit
    rows = rows[: part.limit] if part.limit is not None else rows
    shown = counts[filters.light] if filters.light else sum(counts.values())
    by_dept, by_task, heat, groups_total = (
        _groups(session, sc, now, groups) if groups else ([], [], {}, 0)
    )
    ids = [r.assignment.id for r in rows]
    return Board(
        rows=rows,
        counts=counts,
        total=sum(counts.values()),
        by_department=by_dept,
        by_task=by_task,
        heat=heat,
        urges=last_urges(session=session, assignment_ids=ids),
        children=_children(session, ids, now),
        shown=shown,
        more=more,
        ids=sc.lit.with_only_columns(Assignment.id),
        groups_total=groups_total,
    )


def _groups(
    session: Session, sc: _Scope, now: datetime, w: GroupWindow
) -> tuple[list[Group], list[Group], dict[tuple[str, str], HeatCell], int]:
    """Count every filtered row per department or per task (GROUP BY), sort the groups, cut the
    window, and load the first GROUP_ROWS rows of each group in it (a window function) or, for
    the heat map, count its cells (department x task) for the task columns in it. Return the
    departments, the tasks, the cells and how many groups the view pages through."""
    by_dept: list[Group] = []
    by_task: list[Group] = []
    heat: dict[tuple[str, str], HeatCell] = {}
    if w.view in ("department", "heat"):
        by_dept, dept_ids = _department_groups(session, sc)
    if w.view in ("task", "heat"):
        by_task, task_ids = _task_groups(session, sc)
    if w.view == "department":
        total, by_dept = len(by_dept), w.cut(by_dept)
        in_window = Assignment.department_id.in_([dept_ids[g.key] for g in by_dept])
        by_code = (Assignment.department_id,)
        _first_rows(session, sc, now, by_dept, in_window, by_code, _department_key)
        return by_dept, [], {}, total
    total, by_task = len(by_task), w.cut(by_task)
    pairs = [task_ids[g.key] for g in by_task]
    window: ColumnElement[bool] = (
        tuple_(Assignment.policy_id, Assignment.item_number).in_(pairs) if pairs else false()
    )
    if w.view == "task":
        by_item = (Assignment.policy_id, Assignment.item_number)
        _first_rows(session, sc, now, by_task, window, by_item, _task_key)
        return [], by_task, {}, total
    cells: dict[tuple[str, str], dict[Light, int]] = {}
    tally = (
        sc.lit.where(window)
        .with_only_columns(
            Department.code, Policy.key, Assignment.item_number, sc.rank, func.count()
        )
        .group_by(Department.code, Policy.key, Assignment.item_number, sc.rank)
    )
    for code, policy, number, rank, n in session.execute(tally):
        cell = cells.setdefault((code, task_key(policy, number)), dict.fromkeys(LIGHTS, 0))
        cell[BY_RANK[int(rank)]] += n
    heat = {
        k: HeatCell(next(li for li in LIGHTS if c[li]), sum(c.values()), c[Light.RED])
        for k, c in cells.items()
    }
    return by_dept, by_task, heat, total


def _department_groups(session: Session, sc: _Scope) -> tuple[list[Group], dict[str, int]]:
    """Return every department's group (counts only), worst first, and their ids by code."""
    groups: dict[str, Group] = {}
    ids: dict[str, int] = {}
    tally = sc.lit.with_only_columns(
        Department.id, Department.code, Department.name, sc.rank, func.count()
    ).group_by(Department.id, Department.code, Department.name, sc.rank)
    for dept_id, code, name, rank, n in session.execute(tally):
        groups.setdefault(code, Group(code, name)).counts[BY_RANK[int(rank)]] += n
        ids[code] = dept_id
    return sorted(groups.values(), key=_group_order), ids


def _task_groups(session: Session, sc: _Scope) -> tuple[list[Group], dict[str, tuple[int, int]]]:
    """Return every task's group (counts only), in policy and number order, and their
    (policy id, item number) by key."""
    groups: dict[str, Group] = {}
    ids: dict[str, tuple[int, int]] = {}
    tally = sc.lit.with_only_columns(
        Assignment.policy_id,
        Policy.key,
        Assignment.item_number,
        func.max(ref_sql() + title_sql()),
        sc.rank,
        func.count(),
    ).group_by(Assignment.policy_id, Policy.key, Assignment.item_number, sc.rank)
    for policy_id, policy, number, name, rank, n in session.execute(tally):
        key = task_key(policy, number)
        group = groups.setdefault(key, Group(key, name))
        group.name = max(group.name, name)
        group.counts[BY_RANK[int(rank)]] += n
        ids[key] = (policy_id, number)
    return sorted(groups.values(), key=_task_order), ids


def _first_rows(
    session: Session,
    sc: _Scope,
    now: datetime,
    groups: list[Group],
    window: ColumnElement[bool],
    part_by: tuple[Any, ...],
    key_of: Callable[[BoardRow], str],
) -> None:
    """Load the first GROUP_ROWS rows (board order) of each group in the window into it (the
    group `key_of` a row names)."""
    if not groups:
        return
    order = _order(sc.rank)
    place = func.row_number().over(partition_by=part_by, order_by=order).label("place")
    ranked = sc.lit.where(window).with_only_columns(Assignment.id, place).subquery()
    first = select(ranked.c.id).where(ranked.c.place <= GROUP_ROWS)
    stmt = select_with_item().where(Assignment.id.in_(first)).order_by(*order)
    into = {g.key: g for g in groups}
    for row in _rows(session, stmt, now, sc.missed):
        into[key_of(row)].rows.append(row)


def _department_key(row: BoardRow) -> str:
    return row.assignment.department.code


def _task_key(row: BoardRow) -> str:
    return task_key(row.assignment.policy.key, row.assignment.item_number)


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


def options(*, session: Session, policy: str = "") -> Options:
    """Return the choices of every board filter (the sections and tasks of `policy` alone when
    the board is narrowed to one: task numbers belong to a policy).

    Each list holds the values some assignment on the board has, found from the small tables
    (policies, current items, departments) with an indexed EXISTS each, not by reading the
    assignments.
    """
    on_board = Assignment.removed_in_version.is_(None)
    policies = session.execute(
        select(Policy.key, Policy.title).where(
            exists().where(Assignment.policy_id == Policy.id, on_board)
        )
    ).all()
    current = session.execute(
        select(PolicyItem.number, PolicyItem.label, PolicyItem.title, PolicyItem.section_number)
        .add_columns(PolicyItem.section_title)
        .join(PolicyVersion, PolicyVersion.id == PolicyItem.version_id)
        .join(Policy, Policy.id == PolicyVersion.policy_id)
        .where(
            PolicyVersion.version == Policy.current_version,
            *([Policy.key == policy] if policy else []),
            # A scalar subquery stays a probe of the unique index per item; as EXISTS, the
            # planner would rather aggregate every assignment for a semi-join.
            select(Assignment.id)
            .where(
                Assignment.policy_id == Policy.id,
                Assignment.item_number == PolicyItem.number,
                on_board,
            )
            .limit(1)
            .scalar_subquery()
            .is_not(None),
        )
    ).all()
    departments = session.execute(
        select(Department.code, Department.name).where(
            exists().where(Assignment.department_id == Department.id, on_board)
        )
    ).all()
    items = {number: (label or f"（{number}）") + title for number, label, title, _, _ in current}
    sections = {n: t for _, _, _, n, t in current if n is not None}
    return Options(
        policies=sorted((str(k), str(t)) for k, t in policies),
        sections=sorted(sections.items()),
        items=sorted(items.items()),
        departments=sorted(((str(c), str(n)) for c, n in departments), key=lambda kv: kv[1]),
        periods=period_labels(session=session),
    )


def quarter_of(at: datetime) -> str:
    """Return the quarter label ("2026Q4", China time) of a moment."""
    local = at.astimezone(CHINA)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def period_labels(*, session: Session) -> list[str]:
    """Return the quarters in which some period was originally due, in order.

    The distinct due times are read by a recursive query that jumps from one to the next along
    the index (a loose index scan), not by reading every period.
    """
    ap = AssignmentPeriod
    live = ap.historic.is_(False)
    dues = select(func.min(ap.original_due_at).label("at")).where(live).cte("dues", recursive=True)
    later = select(func.min(ap.original_due_at)).where(live, ap.original_due_at > dues.c.at)
    dues = dues.union_all(select(later.scalar_subquery()).where(dues.c.at.is_not(None)))
    found = session.scalars(select(dues.c.at).where(dues.c.at.is_not(None)))
    return sorted({quarter_of(d) for d in found})
