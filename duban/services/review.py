"""The supervisor's queues: submissions awaiting review, extension requests, open escalations."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, selectinload

from duban.domain import AssignmentState, ExtensionState
from duban.errors import Conflict, NotFound
from duban.models import Assignment, Escalation, Extension, Submission
from duban.services.assignment import item_ref, item_title, select_with_item
from duban.services.paging import instant

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


def _titles(session: Session, ids: set[int]) -> dict[int, tuple[Assignment, str, str]]:
    """Return each assignment with its task title and item number as written."""
    if not ids:
        return {}
    stmt = select_with_item().where(Assignment.id.in_(ids))
    rows = session.execute(stmt).unique()
    return {a.id: (a, item_title(a, item), item_ref(a, item)) for a, item in rows}


def review_queue(*, session: Session, department_id: int | None = None) -> list[ReviewRow]:
    """Return the submissions whose assignment waits for a verdict, oldest first."""
    stmt = (
        select(Submission)
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .where(
            Submission.state == AssignmentState.SUBMITTED,
            Assignment.state == AssignmentState.SUBMITTED,
            Assignment.period_index == Submission.period_index,
        )
        .order_by(Submission.submitted_at, Submission.id)
    )
    if department_id is not None:
        stmt = stmt.where(Assignment.department_id == department_id)
    submissions = list(session.scalars(stmt))
    known = _titles(session, {s.assignment_id for s in submissions})
    return [ReviewRow(s, *known[s.assignment_id]) for s in submissions]


def review_order(row: ReviewRow) -> tuple[float, int]:
    """Sort key of the review queue (oldest submission first), as `review_queue` orders it."""
    return (instant(row.submission.submitted_at), row.submission.id)


def escalation_order(row: EscalationRow) -> tuple[int, float, int]:
    """Sort key of the escalation inbox (highest, newest first), as `escalation_inbox` orders it."""
    e = row.escalation
    return (-e.level, -instant(e.reached_at), -e.id)


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
    ids = {row.submission.id for row in review_queue(session=session)}
    if submission.id not in ids:
        raise Conflict("该报送已审核或已被新的报送取代。")
    return submission


def extension_queue(*, session: Session) -> list[ExtensionRow]:
    """Return pending extension requests, oldest first."""
    stmt = (
        select(Extension)
        .where(Extension.state == ExtensionState.PENDING)
        .order_by(Extension.requested_at, Extension.id)
    )
    extensions = list(session.scalars(stmt))
    known = _titles(session, {x.assignment_id for x in extensions})
    return [ExtensionRow(x, *known[x.assignment_id]) for x in extensions]


def extension_of(*, session: Session, assignment_id: int, extension_id: int) -> Extension:
    """Return an extension request of this assignment, or raise NotFound."""
    extension = session.get(Extension, extension_id)
    if extension is None or extension.assignment_id != assignment_id:
        raise NotFound("延期申请不存在，或不属于该督办事项。")
    return extension


def _top_rungs(*, open_only: bool) -> Select[Escalation]:
    """Select each assignment's highest rung per period: one row per assignment and its level."""
    stmt = select(
        Escalation.assignment_id, Escalation.period_index, func.max(Escalation.level).label("top")
    ).group_by(Escalation.assignment_id, Escalation.period_index)
    if open_only:
        stmt = stmt.where(Escalation.resolved_at.is_(None))
    top = stmt.subquery()
    rung = select(Escalation).join(
        top,
        and_(
            Escalation.assignment_id == top.c.assignment_id,
            Escalation.period_index == top.c.period_index,
            Escalation.level == top.c.top,
        ),
    )
    return rung.where(Escalation.resolved_at.is_(None)) if open_only else rung


def escalation_inbox(
    *, session: Session, level: int | None = None, open_only: bool = True
) -> list[EscalationRow]:
    """Return each escalated assignment once at its level (open ones by default), highest first."""
    stmt = _top_rungs(open_only=open_only).order_by(
        Escalation.level.desc(), Escalation.reached_at.desc(), Escalation.id.desc()
    )
    if level is not None:
        stmt = stmt.where(Escalation.level == level)
    rows = list(session.scalars(stmt))
    known = _titles(session, {e.assignment_id for e in rows})
    return [EscalationRow(e, *known[e.assignment_id]) for e in rows]


def escalation_counts(
    *, session: Session, assignment_ids: Collection[int] | None = None
) -> dict[int, int]:
    """Return how many assignments stand at each level (among `assignment_ids` when given)."""
    top = _top_rungs(open_only=True).subquery()
    stmt = select(top.c.level, func.count()).group_by(top.c.level)
    if assignment_ids is not None:
        stmt = stmt.where(top.c.assignment_id.in_(list(assignment_ids)))
    found: dict[int, int] = {int(level): int(n) for level, n in session.execute(stmt)}
    return {level: found.get(level, 0) for level in LEVELS}


def waiting_days(since: datetime, now: datetime) -> int:
    """Return whole days a queue entry has waited."""
    return max(0, (now - since).days)


def queue_counts(*, session: Session) -> dict[str, int]:
    """Return the sizes of the review and extension queues."""
    reviews: Sequence[ReviewRow] = review_queue(session=session)
    return {"reviews": len(reviews), "extensions": len(extension_queue(session=session))}
