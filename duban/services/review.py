"""The supervisor's queues: submissions awaiting review, extension requests, open escalations."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, selectinload

from duban.db import UTCDateTime
from duban.domain import AssignmentState, ExtensionState
from duban.errors import Conflict, NotFound
from duban.models import Assignment, Escalation, Extension, Submission
from duban.services.assignment import item_ref, item_title, select_with_title
from duban.services.board import search_sql
from duban.services.paging import Slice, list_cursor, list_key, micros, of_micros

LEVELS = (1, 2, 3)


@dataclass(frozen=True)
class ReviewRow:
    """A submission awaiting review, with its assignment and task title."""

    submission: Submission
    assignment: Assignment
    title: str
    ref: str


@dataclass(frozen=True)
class ExtensionRow:
    """A pending extension request, with its assignment and task title."""

    extension: Extension
    assignment: Assignment
    title: str
    ref: str


@dataclass(frozen=True)
class EscalationRow:
    """An open rung of the ladder, with its assignment and task title."""

    escalation: Escalation
    assignment: Assignment
    title: str
    ref: str


def _slice(
    session: Session,
    rows: Select[Any],
    part: Slice,
    key: InstrumentedAttribute[int],
    ids: Select[Any],
) -> Select[Any]:
    """Window sorted rows by `part`, one row more than asked: the window's `key` ids are sorted
    and cut alone (`ids`: the same filters and order over the fewest tables), then only their
    rows are read, in the same order."""
    if part.limit is None:
        return rows.offset(part.offset or None)
    window = ids.with_only_columns(key).offset(part.offset or None).limit(part.limit + 1)
    return rows.where(key.in_(list(session.scalars(window))))


# A submission awaits review while it and its assignment say so in the current period.
_PENDING = (
    Submission.state == AssignmentState.SUBMITTED,
    Assignment.state == AssignmentState.SUBMITTED,
    Assignment.period_index == Submission.period_index,
)


def _reviews(department_id: int | None, q: str, *, rows: bool = True) -> Select[Any]:
    """Select the pending submissions with their assignments and items (`rows`), or over the
    two tables alone when no search needs the items' titles."""
    if rows or q:
        stmt = (
            select_with_title()
            .join(Submission, Submission.assignment_id == Assignment.id)
            .add_columns(Submission)
        )
    else:
        stmt = select(Submission.id).join(Assignment, Assignment.id == Submission.assignment_id)
    stmt = stmt.where(*_PENDING)
    if department_id is not None:
        stmt = stmt.where(Assignment.department_id == department_id)
    if q:
        stmt = stmt.where(search_sql(q, codes=False))
    return stmt


def _review_ids(department_id: int | None) -> Select[Any]:
    """Select the pending submissions' ids over the submissions alone, each one's assignment
    probed by its key: read in the queue's order from the index, the first window's worth
    ends the scan (a join would be planned as a hash of every submitted assignment)."""
    owner = select(Assignment.id).where(
        Assignment.id == Submission.assignment_id,
        Assignment.state == AssignmentState.SUBMITTED,
        Assignment.period_index == Submission.period_index,
    )
    if department_id is not None:
        owner = owner.where(Assignment.department_id == department_id)
    waiting = owner.scalar_subquery().is_not(None)
    return select(Submission.id).where(Submission.state == AssignmentState.SUBMITTED, waiting)


def review_queue(
    *, session: Session, department_id: int | None = None, q: str = "", part: Slice | None = None
) -> list[ReviewRow]:
    """Return the submissions whose assignment waits for a verdict, oldest first (those whose
    task number, title or department holds `q`); `part` windows them (limit + 1 rows)."""
    part = part or Slice()
    order = (Submission.submitted_at, Submission.id)

    def keyed(stmt: Select[Any]) -> Select[Any]:
        if part.after is not None:
            at, sid = part.after
            after = tuple_(literal(of_micros(at), UTCDateTime()), sid)
            stmt = stmt.where(tuple_(*order) > after)
        return stmt.order_by(*order)

    narrow = _review_ids(department_id) if not q else _reviews(department_id, q, rows=False)
    rows, ids = keyed(_reviews(department_id, q)), keyed(narrow)
    found: Iterable[Any] = session.execute(_slice(session, rows, part, Submission.id, ids)).unique()
    return [ReviewRow(s, a, item_title(a, item), item_ref(a, item)) for a, item, s in found]


def review_total(*, session: Session, q: str = "") -> int:
    """Return how many submissions the review queue holds (those matching `q`)."""
    # count(*), not count(id): the partial indexes answer it without reading the rows.
    stmt = _reviews(None, q, rows=False).with_only_columns(func.count())
    return int(session.scalar(stmt) or 0)


def review_order(row: ReviewRow) -> tuple[int, int]:
    """Sort key of the review queue (oldest submission first), as `review_queue` orders it."""
    return (micros(row.submission.submitted_at), row.submission.id)


def review_cursor(row: ReviewRow) -> str:
    """Return the API cursor of the submissions after `row`."""
    return list_cursor("reviews", review_order(row))


def review_after(cursor: str) -> tuple[int, ...]:
    """Return the sort key a review queue cursor names, or raise Invalid (a 422)."""
    return list_key("reviews", cursor, 2, times=(0,))


def escalation_order(row: EscalationRow) -> tuple[int, int, int]:
    """Sort key of the escalation inbox (highest, newest first), as `escalation_inbox` orders it."""
    e = row.escalation
    return (-e.level, -micros(e.reached_at), -e.id)


def escalation_cursor(row: EscalationRow) -> str:
    """Return the API cursor of the rungs after `row`."""
    return list_cursor("escalations", escalation_order(row))


def escalation_after(cursor: str) -> tuple[int, ...]:
    """Return the sort key an escalation inbox cursor names, or raise Invalid (a 422)."""
    return list_key("escalations", cursor, 3, times=(1,))


def load_evidence(*, session: Session, rows: Sequence[ReviewRow]) -> None:
    """Load the evidence of the rows' submissions in one query (a page shows each row's files)."""
    ids = [row.submission.id for row in rows]
    if ids:
        stmt = select(Submission).options(selectinload(Submission.evidence))
        session.scalars(stmt.where(Submission.id.in_(ids))).all()


def pending_submission(*, session: Session, submission_id: int) -> Submission:
    """Return a submission that still awaits review, or raise NotFound/Conflict."""
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise NotFound("报送记录不存在。")
    pending = _reviews(None, "").where(Submission.id == submission.id)
    if session.scalar(pending.with_only_columns(func.count(Submission.id))) == 0:
        raise Conflict("该报送已审核或已被新的报送取代。")
    return submission


def _extensions() -> Select[Any]:
    return (
        select_with_title()
        .join(Extension, Extension.assignment_id == Assignment.id)
        .add_columns(Extension)
        .where(Extension.state == ExtensionState.PENDING)
    )


def extension_queue(*, session: Session, part: Slice | None = None) -> list[ExtensionRow]:
    """Return pending extension requests, oldest first (`part`: from an offset or after a key,
    limit + 1)."""
    part = part or Slice()
    order = (Extension.requested_at, Extension.id)
    stmt = _extensions()
    if part.after is not None:
        at, xid = part.after
        stmt = stmt.where(tuple_(*order) > tuple_(literal(of_micros(at), UTCDateTime()), xid))
    stmt = stmt.order_by(*order)
    stmt = _slice(session, stmt, part, Extension.id, stmt)
    found = session.execute(stmt).unique()
    return [ExtensionRow(x, a, item_title(a, item), item_ref(a, item)) for a, item, x in found]


def extension_order(row: ExtensionRow) -> tuple[int, int]:
    """Sort key of the extension queue (oldest request first), as `extension_queue` orders it."""
    return (micros(row.extension.requested_at), row.extension.id)


def extension_cursor(row: ExtensionRow) -> str:
    """Return the API cursor of the extension requests after `row`."""
    return list_cursor("extensions", extension_order(row))


def extension_after(cursor: str) -> tuple[int, ...]:
    """Return the sort key an extension queue cursor names, or raise Invalid (a 422)."""
    return list_key("extensions", cursor, 2, times=(0,))


def extension_of(*, session: Session, assignment_id: int, extension_id: int) -> Extension:
    """Return an extension request of this assignment, or raise NotFound."""
    extension = session.get(Extension, extension_id)
    if extension is None or extension.assignment_id != assignment_id:
        raise NotFound("延期申请不存在，或不属于该督办事项。")
    return extension


def _top_rungs(*, open_only: bool) -> ColumnElement[bool]:
    """Tell whether a rung is its assignment's highest in its period (among the open ones, and
    open itself, with open_only): no higher rung exists (an indexed anti-join)."""
    higher = aliased(Escalation)
    above = exists().where(
        higher.assignment_id == Escalation.assignment_id,
        higher.period_index == Escalation.period_index,
        higher.level > Escalation.level,
        *([higher.resolved_at.is_(None)] if open_only else []),
    )
    return and_(~above, *([Escalation.resolved_at.is_(None)] if open_only else []))


def _escalations(level: int | None, open_only: bool, q: str) -> Select[Any]:
    stmt = (
        select_with_title()
        .join(Escalation, Escalation.assignment_id == Assignment.id)
        .add_columns(Escalation)
        .where(_top_rungs(open_only=open_only))
    )
    if level is not None:
        stmt = stmt.where(Escalation.level == level)
    if q:
        stmt = stmt.where(search_sql(q, codes=False))
    return stmt


def escalation_inbox(
    *,
    session: Session,
    level: int | None = None,
    open_only: bool = True,
    q: str = "",
    part: Slice | None = None,
) -> list[EscalationRow]:
    """Return each escalated assignment once at its level (open ones by default), highest and
    newest first (those whose task number, title or department holds `q`); `part` windows them
    (limit + 1 rows)."""
    part = part or Slice()
    order = (Escalation.level, Escalation.reached_at, Escalation.id)
    stmt = _escalations(level, open_only, q).order_by(*(c.desc() for c in order))
    if part.after is not None:
        lv, at, eid = (-v for v in part.after)
        bound = tuple_(lv, literal(of_micros(at), UTCDateTime()), eid)
        stmt = stmt.where(tuple_(*order) < bound)
    found: Iterable[Any] = session.execute(
        _slice(session, stmt, part, Escalation.id, stmt)
    ).unique()
    return [EscalationRow(e, a, item_title(a, item), item_ref(a, item)) for a, item, e in found]


def escalation_total(*, session: Session, level: int | None = None, q: str = "") -> int:
    """Return how many assignments stand open on the ladder (at `level`, matching `q`)."""
    stmt = _escalations(level, True, q).with_only_columns(func.count(Escalation.id))
    return int(session.scalar(stmt) or 0)


def escalation_counts(
    *, session: Session, assignment_ids: Collection[int] | Select[tuple[int]] | None = None
) -> dict[int, int]:
    """Return how many assignments stand at each level (among `assignment_ids` when given: ids,
    or a statement selecting them)."""
    stmt = (
        select(Escalation.level, func.count())
        .where(_top_rungs(open_only=True))
        .group_by(Escalation.level)
    )
    if assignment_ids is not None:
        ids = assignment_ids if isinstance(assignment_ids, Select) else list(assignment_ids)
        stmt = stmt.where(Escalation.assignment_id.in_(ids))
    found: dict[int, int] = {int(level): int(n) for level, n in session.execute(stmt)}
    return {level: found.get(level, 0) for level in LEVELS}


def waiting_days(since: datetime, now: datetime) -> int:
    """Return whole days a queue entry has waited."""
    return max(0, (now - since).days)


def queue_counts(*, session: Session) -> dict[str, int]:
    """Return the sizes of the review and extension queues (counted in SQL)."""
    return {
        "reviews": review_total(session=session),
        "extensions": extension_total(session=session),
    }


def extension_total(*, session: Session) -> int:
    """Return how many extension requests wait for a decision."""
    pending = select(func.count(Extension.id)).where(Extension.state == ExtensionState.PENDING)
    return int(session.scalar(pending) or 0)
