"""The leader cockpit: completion, on-time and overdue rates by department, task and quarter."""

from __future__ import annotations

import logging
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select, type_coerce
from sqlalchemy.orm import Session

from duban.db import UTCDateTime
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

log = logging.getLogger(__name__)


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
    as_of: datetime  # when the periods were counted (a snapshot's time, else `now`)


def _terms() -> tuple[ColumnElement[bool], ColumnElement[Any], ColumnElement[bool]]:
    """Return (closed, due date, awaiting review) of a period joined to its assignment."""
    closed = or_(AssignmentPeriod.closed_at.is_not(None), AssignmentPeriod.state == "approved")
    current = Assignment.period_index == AssignmentPeriod.index
    due_at = case(
        (and_(current, Assignment.due_at.is_not(None)), Assignment.due_at),
        else_=AssignmentPeriod.due_at,
    )
    waiting = and_(current, Assignment.state == AssignmentState.SUBMITTED.value)
    return closed, due_at, waiting


def _counts(now: datetime) -> tuple[ColumnElement[Any], ...]:
    """Return SQL sums of what each period counts as: periods, due, completed, on time, overdue.

    A period is completed once closed (or approved); due once completed or past its due date
    (the assignment's own for its current period, which an extension may have moved); overdue
    when due and still open, unless the current period's report awaits review (the department
    has done its part).
    """
    closed, due_at, waiting = _terms()
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


def _counted_periods(*columns: Any) -> Any:
    """Return SELECT `columns` over the non-historic periods of the current assignments."""
    return (
        select(*columns)
        .select_from(AssignmentPeriod)
        .join(Assignment, Assignment.id == AssignmentPeriod.assignment_id)
        .where(
            AssignmentPeriod.historic.is_(False),
            Assignment.removed_in_version.is_(None),
            Assignment.pending_start.is_(False),
        )
    )


def _aggregate(
    session: Session, now: datetime, *keys: Any
) -> list[tuple[tuple[Any, ...], tuple[int, ...]]]:
    """Return (group key, counts) of every group of `keys` over the non-historic periods of the
    current assignments (one pass of the database over the periods; no row reaches Python)."""
    stmt = _counted_periods(*keys, *_counts(now)).group_by(*keys)
    k = len(keys)
    return [(tuple(row[:k]), tuple(int(v) for v in row[k:])) for row in session.execute(stmt)]


ZERO = (0, 0, 0, 0, 0)


def _rates(key: str, name: str, counts: Sequence[int]) -> Rates:
    periods, due, completed, on_time, overdue = counts
    return Rates(key, name, periods, due, completed, on_time, overdue)


def _add(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _counted(r: Rates) -> tuple[int, ...]:
    return (r.periods, r.due, r.completed, r.on_time, r.overdue)


def cockpit(*, session: Session, now: datetime, titles: dict[str, str] | None = None) -> Cockpit:
    """Return the cockpit's figures; tasks are keyed `policy#item`, named from `titles`.

    Two aggregates over the periods: per department and due date (which also gives the
    overall figures and the quarters: a handful of dates per department), and per task.
    """
    by_due = _aggregate(session, now, Assignment.department_id, AssignmentPeriod.original_due_at)
    by_task = _aggregate(session, now, Assignment.policy_id, Assignment.item_number)
    return _assemble(_names(session, titles), now, by_due, by_task, as_of=now)


@dataclass(frozen=True)
class _Names:
    """What the figures are named by: tasks' titles, departments' codes and names, policies' keys."""

    titles: dict[str, str]
    departments: dict[int, tuple[str, str]]
    policies: dict[int, str]


def _names(session: Session, titles: dict[str, str] | None) -> _Names:
    departments = {
        i: (c, n)
        for i, c, n in session.execute(select(Department.id, Department.code, Department.name))
    }
    policies: dict[int, str] = dict(session.execute(select(Policy.id, Policy.key)).all())
    return _Names(titles or {}, departments, policies)


def _assemble(
    names: _Names,
    now: datetime,
    groups: Iterable[tuple[tuple[Any, ...], Sequence[int]]],
    task_groups: Iterable[tuple[tuple[Any, ...], Sequence[int]]],
    *,
    as_of: datetime,
) -> Cockpit:
    """Fold the counts per (department, original due date) and per (policy, item) into a
    Cockpit (departments, policies and tasks named from `names`)."""
    per_department: dict[int, tuple[int, ...]] = {}
    quarters: dict[str, tuple[int, ...]] = {}
    overall: tuple[int, ...] = ZERO
    for (department_id, due), c in groups:
        per_department[department_id] = _add(per_department.get(department_id, ZERO), c)
        overall = _add(overall, c)
        q = quarter_of(due)
        quarters[q] = _add(quarters.get(q, ZERO), c)
    by_dept = [_rates(*names.departments[i], c) for i, c in per_department.items()]
    by_task = []
    for (policy_id, number), c in task_groups:
        key = f"{names.policies[policy_id]}#{number}"
        by_task.append(_rates(key, names.titles.get(key, f"第 {number} 项"), c))
    current = quarter_of(now)
    trend = [_rates(q, q, c) for q, c in quarters.items() if q <= current]
    return Cockpit(
        overall=_rates("all", "全部", overall),
        by_department=sorted(by_dept, key=lambda r: (-r.overdue_rate, -r.overdue, r.name)),
        by_task=sorted(by_task, key=_task_order),
        trend=sorted(trend, key=lambda r: r.key),
        as_of=as_of,
    )


def _task_order(r: Rates) -> tuple[str, int]:
    policy, _, number = r.key.rpartition("#")
    return (policy, int(number))


# --- The snapshot: the counts that do not depend on the time, taken now and then ------------


@dataclass(frozen=True)
class _Group:
    """One group's periods as far as they do not depend on the time: its closed ones counted,
    its open ones as sorted distinct due dates with running totals (to count those past `now`
    with a bisection)."""

    periods: int
    closed: int
    on_time: int
    open_dues: tuple[datetime, ...]  # distinct due dates of the open periods, ascending
    open_upto: tuple[int, ...]  # open periods due on or before open_dues[i]
    chased_dues: tuple[datetime, ...]  # the same for the open ones not awaiting review
    chased_upto: tuple[int, ...]

    def counts(self, now: datetime) -> tuple[int, ...]:
        """Return (periods, due, completed, on time, overdue) as _counts(now) gives them."""

        def upto(dues: tuple[datetime, ...], totals: tuple[int, ...]) -> int:
            i = bisect_right(dues, now)
            return totals[i - 1] if i else 0

        past_open = upto(self.open_dues, self.open_upto)
        overdue = upto(self.chased_dues, self.chased_upto)
        return (self.periods, self.closed + past_open, self.closed, self.on_time, overdue)


def _cumulative(dues: dict[datetime, int]) -> tuple[tuple[datetime, ...], tuple[int, ...]]:
    ordered = sorted(dues)
    return tuple(ordered), tuple(accumulate(dues[d] for d in ordered))


def _snapshot_groups(session: Session, *keys: Any) -> dict[tuple[Any, ...], _Group]:
    """Count the periods per group of `keys`, closed or not, on time or not, awaiting review
    or not, and by due date when open (closed ones collapse to one row per group)."""
    closed, due_at, waiting = _terms()
    closed_flag = case((closed, 1), else_=0)
    on_time_flag = case((and_(closed, AssignmentPeriod.on_time.is_(True)), 1), else_=0)
    waiting_flag = case((and_(not_(closed), waiting), 1), else_=0)
    open_due = type_coerce(case((closed, None), else_=due_at), UTCDateTime())
    columns = (*keys, closed_flag, on_time_flag, waiting_flag, open_due)
    stmt = _counted_periods(*columns, func.count()).group_by(*columns)
    k = len(keys)
    tallies: dict[tuple[Any, ...], list[Any]] = {}
    for row in session.execute(stmt):
        key = tuple(row[:k])
        is_closed, is_on_time, is_waiting, due, n = row[k:]
        t = tallies.setdefault(key, [0, 0, 0, {}, {}])
        t[0] += n
        if is_closed:
            t[1] += n
            t[2] += n if is_on_time else 0
        elif due is not None:  # an open period without a due date is never past it
            t[3][due] = t[3].get(due, 0) + n
            if not is_waiting:
                t[4][due] = t[4].get(due, 0) + n
    return {
        key: _Group(periods, closed_n, on_time, *_cumulative(opened), *_cumulative(chased))
        for key, (periods, closed_n, on_time, opened, chased) in tallies.items()
    }


@dataclass(frozen=True)
class Snapshot:
    """The cockpit's counts at `taken_at`, bounded by groups (department × due date, task ×
    due date), from which cockpit figures at any later `now` are worked out exactly (but for
    writes made after `taken_at`)."""

    taken_at: datetime
    by_department_due: dict[tuple[Any, ...], _Group]
    by_task: dict[tuple[Any, ...], _Group]
    names: _Names  # as they were when the counts were taken
    # Every open period's due date, ascending: between two of them (and within one quarter)
    # the figures do not change, so they are worked out once per such stretch (`_figures`).
    boundaries: tuple[datetime, ...] = ()
    _figures: dict[tuple[int, str], Cockpit] = field(
        default_factory=dict, compare=False, repr=False
    )


def take_snapshot(*, session: Session, now: datetime) -> Snapshot:
    """Count the periods once into a Snapshot (two grouped queries, and the names)."""
    by_due = _snapshot_groups(session, Assignment.department_id, AssignmentPeriod.original_due_at)
    by_task = _snapshot_groups(session, Assignment.policy_id, Assignment.item_number)
    dues = {d for g in by_due.values() for d in (*g.open_dues, *g.chased_dues)}
    return Snapshot(
        taken_at=now,
        by_department_due=by_due,
        by_task=by_task,
        names=_names(session, task_titles(session=session)),
        boundaries=tuple(sorted(dues)),
    )


FIGURES_KEPT = 8  # stretches of time whose figures a snapshot keeps


def cockpit_of(snapshot: Snapshot, *, now: datetime) -> Cockpit:
    """Return cockpit(now) worked out from `snapshot` (overdue and due split against `now`),
    named as things were when it was taken; the same object for every `now` between the same
    two due dates of one quarter."""
    stretch = (bisect_right(snapshot.boundaries, now), quarter_of(now))
    kept = snapshot._figures.get(stretch)
    if kept is not None:
        return kept
    figures = _assemble(
        snapshot.names,
        now,
        ((k, g.counts(now)) for k, g in snapshot.by_department_due.items()),
        ((k, g.counts(now)) for k, g in snapshot.by_task.items()),
        as_of=snapshot.taken_at,
    )
    if len(snapshot._figures) >= FIGURES_KEPT:
        snapshot._figures.clear()
    snapshot._figures[stretch] = figures
    return figures


SNAPSHOT_TTL = timedelta(seconds=30)
SNAPSHOT_STALE = timedelta(minutes=5)  # how old a snapshot may be served while a new one is taken
SNAPSHOT_SLOTS = 4  # databases one process serves (one in production)


class Snapshots:
    """A process-local cache of cockpit snapshots, one per database, each kept `ttl` from when
    it was taken and at most `slots` of them (the least recently used goes). The cockpit has no
    filter that reaches the periods (`under` folds the per-department figures), so one snapshot
    serves every request on a database. The clock is the caller's `now`.

    Given a session factory, a request that finds its snapshot past the TTL but within `stale`
    is served that snapshot at once while a thread takes the next one (one at a time per
    database): no reader waits for the count after the first. Older, or without a factory, the
    request counts itself."""

    def __init__(
        self,
        ttl: timedelta = SNAPSHOT_TTL,
        slots: int = SNAPSHOT_SLOTS,
        stale: timedelta = SNAPSHOT_STALE,
    ) -> None:
        self.ttl, self.slots, self.stale = ttl, slots, stale
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Snapshot] = OrderedDict()
        self._taking: dict[str, threading.Thread] = {}

    def get(
        self,
        *,
        session: Session,
        now: datetime,
        factory: Callable[[], Session] | None = None,
    ) -> Snapshot:
        """Return the database's snapshot, taken anew when older than the TTL (or from a
        `now` before it was taken: a clock set back); with `factory`, a stale one is served
        while a thread takes the next."""
        key = session.get_bind().engine.url.render_as_string(hide_password=True)
        with self._lock:
            held = self._entries.get(key)
            if held is not None and held.taken_at <= now < held.taken_at + self.ttl:
                self._entries.move_to_end(key)
                return held
            if (
                held is not None
                and factory is not None
                and held.taken_at <= now < held.taken_at + self.stale
            ):
                self._entries.move_to_end(key)
                if key not in self._taking:
                    thread = threading.Thread(
                        target=self._take,
                        args=(key, factory, now),
                        name="cockpit-snapshot",
                        daemon=True,  # a cache: nothing is lost if the process exits mid-count
                    )
                    self._taking[key] = thread
                    thread.start()
                return held
        fresh = take_snapshot(session=session, now=now)
        self._keep(key, fresh)
        return fresh

    def _take(self, key: str, factory: Callable[[], Session], now: datetime) -> None:
        """Take the next snapshot in the background; on failure keep the held one."""
        try:
            with factory() as session:
                self._keep(key, take_snapshot(session=session, now=now))
        except Exception:  # a database down: the next request past the TTL tries again
            log.warning("cockpit snapshot not taken", exc_info=True)
        finally:
            with self._lock:
                self._taking.pop(key, None)

    def _keep(self, key: str, snapshot: Snapshot) -> None:
        with self._lock:
            self._entries[key] = snapshot
            self._entries.move_to_end(key)
            while len(self._entries) > self.slots:
                self._entries.popitem(last=False)

    def wait(self) -> None:
        """Wait for the snapshots being taken in the background (tests, shutdown)."""
        with self._lock:
            threads = list(self._taking.values())
        for thread in threads:
            thread.join()

    def clear(self) -> None:
        """Drop every snapshot (the next request counts afresh)."""
        with self._lock:
            self._entries.clear()


def task_titles(*, session: Session) -> dict[str, str]:
    """Return `policy#item` -> "（n）title" (the item's own label when it has one) for every
    item of every policy's current version (a task without one is named by cockpit())."""
    stmt = (
        select(Policy.key, PolicyItem.number, PolicyItem.label, PolicyItem.title)
        .join(PolicyVersion, PolicyVersion.policy_id == Policy.id)
        .join(PolicyItem, PolicyItem.version_id == PolicyVersion.id)
        .where(PolicyVersion.version == Policy.current_version)
    )
    out: dict[str, str] = {}
    for key, number, label, title in session.execute(stmt):
        out[f"{key}#{number}"] = (label or f"（{number}）") + title  # as item_ref, item_title
    return out


@dataclass(frozen=True)
class TreeRates:
    """The cockpit drilled down the organisation tree: where one stands, and each unit below it."""

    under: Department | None
    path: list[Department]
    units: list[Rates]  # one per unit directly below, counting its whole subtree


def tree_rates(
    *,
    session: Session,
    now: datetime,
    under: str = "",
    by_department: Sequence[Rates] | None = None,
) -> TreeRates:
    """Group the periods by the unit directly below `under` (the roots when empty) they fall in.

    `by_department`: the cockpit's figures per department, when already counted (else one
    aggregate per department here); the tree folds those, a row per department, not per period.
    """
    rows = {d.code: d for d in session.scalars(select(Department))}
    by_id = {d.id: d for d in rows.values()}
    top = rows.get(under) if under else None
    if under and top is None:
        raise NotFound(f"单位不存在：{under}")
    if by_department is None:
        groups = _aggregate(session, now, Assignment.department_id)
        by_department = [_rates(by_id[i].code, by_id[i].name, c) for (i,), c in groups]

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

    folded: dict[str, tuple[int, ...]] = {}
    for r in by_department:
        node = top if top is not None and r.key == top.code else branch(r.key)
        if node is not None:
            folded[node.code] = _add(folded.get(node.code, ZERO), _counted(r))
    units = [_rates(code, rows[code].name, c) for code, c in folded.items()]
    path: list[Department] = []
    at, seen = top, set()
    while at is not None and at.id not in seen:
        seen.add(at.id)
        path.insert(0, at)
        at = by_id.get(at.parent_id) if at.parent_id is not None else None
    return TreeRates(top, path, sorted(units, key=lambda r: (-r.overdue_rate, r.name)))
