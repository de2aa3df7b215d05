"""The traffic light of `duban.rules.status_light` as SQL, so lists filter, count and sort by it
in the database: the same states, the same 7-day window, the same projected target misses."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, case, exists, literal, or_, select
from sqlalchemy.orm import Session

from duban.domain import AssignmentState
from duban.models import Assignment, Submission
from duban.models.target import TargetActual
from duban.rules import AMBER_WINDOW, DONE_STATES, LIGHT_RANK, Light, Projection
from duban.services.target import projected_misses

# A light shows green whatever the dates once the department has reported or finished.
SETTLED_STATES = frozenset({*DONE_STATES, AssignmentState.SUBMITTED})


def light_rank(*, now: datetime, missed: Collection[int] = ()) -> ColumnElement[int]:
    """Return the LIGHT_RANK of an assignment's light (0 red, 1 amber, 2 green) as SQL.

    `missed`: the ids whose targets are projected to miss (the keys of `projected`);
    `status_light` takes the same fact as its `miss` argument.
    """
    whens: list[tuple[ColumnElement[bool], int]] = [
        (Assignment.state.in_(sorted(SETTLED_STATES)), LIGHT_RANK[Light.GREEN]),
        (Assignment.due_at <= now, LIGHT_RANK[Light.RED]),
        (Assignment.due_at <= now + AMBER_WINDOW, LIGHT_RANK[Light.AMBER]),
    ]
    if missed:
        whens.append((Assignment.id.in_(sorted(missed)), LIGHT_RANK[Light.AMBER]))
    return case(*whens, else_=literal(LIGHT_RANK[Light.GREEN], Integer()))


def done_flag() -> ColumnElement[int]:
    """Return 1 for a finished assignment and 0 otherwise, as SQL (finished ones sort last)."""
    return case((Assignment.state.in_(sorted(DONE_STATES)), 1), else_=literal(0, Integer()))


def projected(
    *, session: Session, now: datetime, where: Sequence[ColumnElement[bool]] = ()
) -> dict[int, Projection]:
    """Return the assignments (of those `where` selects) whose light a projected target miss
    turns amber, with the projection.

    Only an assignment whose light the dates leave green and that has reported actuals can
    have one, so only those are projected (`projected_misses`, in Python).
    """
    reported = exists().where(
        Submission.assignment_id == Assignment.id, TargetActual.submission_id == Submission.id
    )
    stmt = select(Assignment).where(
        Assignment.removed_in_version.is_(None),
        Assignment.state.not_in(sorted(SETTLED_STATES)),
        or_(Assignment.due_at.is_(None), Assignment.due_at > now + AMBER_WINDOW),
        reported,
        *where,
    )
    candidates = list(session.scalars(stmt).unique())
    if not candidates:
        return {}
    return projected_misses(session=session, assignments=candidates, today=now.date())
