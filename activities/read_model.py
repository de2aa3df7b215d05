"""Read-model activities: the only writers of assignment state, periods, submissions and the timeline."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities import records
from activities.notify import add_notifications
from duban.messages import BEGIN_ACTIVITY, RECORD_ACTIVITY, BeginInput, RecordInput
from duban.models import Assignment, AuditEvent


class ReadModelActivities:
    """Activities writing the SQL read model; each is idempotent by its key."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    @activity.defn(name=BEGIN_ACTIVITY)
    def begin(self, inp: BeginInput) -> int:
        """Store periods, apply steps and add notices (never mailed) at once; return rows added."""
        with self.session_factory.begin() as session:
            added = records.add_periods(session, inp.assignment_id, inp.periods)
            added += sum(_apply(session, step) for step in inp.steps)
            added += sum(len(add_notifications(session, note)) for note in inp.notices)
        return added

    @activity.defn(name=RECORD_ACTIVITY)
    def record(self, inp: RecordInput) -> bool:
        """Apply one workflow step; return False when its key was already recorded."""
        with self.session_factory.begin() as session:
            return _apply(session, inp)


def _apply(session: Session, inp: RecordInput) -> bool:
    """Apply one step in the session's transaction; return False when its key is stored."""
    if session.scalar(select(AuditEvent.id).where(AuditEvent.key == inp.key)) is not None:
        return False
    assignment = session.get_one(Assignment, inp.assignment_id)
    records.apply_snapshot(assignment, inp.snapshot, inp.at)
    if inp.period is not None:
        records.patch_period(session, inp.assignment_id, inp.period)
    if inp.submission is not None:
        records.add_submission(session, inp)
    if inp.review is not None:
        records.review_submission(session, inp)
    if inp.extension is not None:
        records.add_extension(session, inp)
    if inp.decision is not None:
        records.decide_extension(session, inp)
    if inp.escalation is not None:
        records.escalate(session, inp)
    if inp.plan is not None:
        records.replan_periods(session, inp.assignment_id, inp.plan)
    session.add(
        AuditEvent(
            key=inp.key,
            at=inp.at,
            kind=inp.kind,
            actor_id=inp.actor_id,
            actor_label=inp.actor,
            policy_id=assignment.policy_id,
            assignment_id=inp.assignment_id,
            data=inp.data,
        )
    )
    return True
