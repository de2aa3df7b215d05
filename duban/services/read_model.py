"""The read model's writes of workflow steps, one function per kind (the read-model activities call them)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from duban.models import (
    Assignment,
    AssignmentPeriod,
    AuditEvent,
    Escalation,
    Evidence,
    Extension,
    Submission,
)
from duban.services.target import record_actuals

if TYPE_CHECKING:
    from duban.messages import PeriodPatch, PeriodSpec, PlanRecord, RecordInput, Snapshot


def apply_snapshot(assignment: Assignment, snap: Snapshot, at: datetime) -> None:
    """Mirror the workflow state onto the assignment row."""
    assignment.state = snap.state
    assignment.period_index = snap.period_index
    assignment.due_at = snap.due_at
    assignment.original_due_at = snap.original_due_at
    assignment.escalation_level = snap.escalation_level
    if snap.acknowledged_at is not None:
        assignment.acknowledged_at = snap.acknowledged_at
    if snap.completed_at is not None:
        assignment.completed_at = snap.completed_at
    assignment.updated_at = at


def add_periods(session: Session, assignment_id: int, periods: list[PeriodSpec]) -> int:
    """Insert the periods not yet stored; return how many were added."""
    have = set(
        session.scalars(
            select(AssignmentPeriod.index).where(AssignmentPeriod.assignment_id == assignment_id)
        )
    )
    new = [p for p in periods if p.index not in have]
    session.add_all(
        AssignmentPeriod(
            assignment_id=assignment_id,
            index=p.index,
            due_at=p.due_at,
            original_due_at=p.due_at,
            source=p.source,
            label=p.label,
            historic=p.historic,
            state="historic" if p.historic else "open",
        )
        for p in new
    )
    return len(new)


def replan_periods(session: Session, assignment_id: int, plan: PlanRecord) -> None:
    """Replace the periods from `plan.first_index` on with the plan's (a newer policy version)."""
    session.execute(
        delete(AssignmentPeriod).where(
            AssignmentPeriod.assignment_id == assignment_id,
            AssignmentPeriod.index >= plan.first_index,
        )
    )
    add_periods(session, assignment_id, plan.periods)


def patch_period(session: Session, assignment_id: int, patch: PeriodPatch) -> None:
    """Apply the non-None columns of a patch to one period row."""
    values = {
        name: getattr(patch, name)
        for name in ("due_at", "state", "closed_at", "on_time", "rating")
        if getattr(patch, name) is not None
    }
    if values:
        session.execute(
            update(AssignmentPeriod)
            .where(
                AssignmentPeriod.assignment_id == assignment_id,
                AssignmentPeriod.index == patch.index,
            )
            .values(**values)
        )


def add_submission(session: Session, inp: RecordInput) -> None:
    """Insert the submission of a step unless its key is stored."""
    rec = inp.submission
    assert rec is not None
    if session.scalar(select(Submission.id).where(Submission.key == rec.key)) is not None:
        return
    evidence = session.scalars(
        select(Evidence).where(
            Evidence.id.in_(rec.evidence_ids), Evidence.assignment_id == inp.assignment_id
        )
    ).all()
    session.add(
        Submission(
            key=rec.key,
            assignment_id=inp.assignment_id,
            period_index=inp.snapshot.period_index,
            report=rec.report,
            late=rec.late,
            submitted_by_id=inp.actor_id,
            submitted_at=inp.at,
            evidence=list(evidence),
            answers=rec.answers or None,
        )
    )
    if rec.actuals:
        session.flush()
        submission_id = session.scalar(select(Submission.id).where(Submission.key == rec.key))
        assert submission_id is not None
        record_actuals(session=session, submission_id=submission_id, actuals=rec.actuals)


def review_submission(session: Session, inp: RecordInput) -> None:
    """Record a verdict on the submission it names."""
    rec = inp.review
    assert rec is not None
    sub = session.scalar(select(Submission).where(Submission.key == rec.submission_key))
    if sub is None:
        return
    sub.state = "approved" if rec.decision == "approve" else "returned"
    sub.rating = rec.rating
    sub.review_comment = rec.comment
    sub.reviewed_by_id = inp.actor_id
    sub.reviewed_at = inp.at


def add_extension(session: Session, inp: RecordInput) -> None:
    """Insert an extension request unless its key is stored."""
    rec = inp.extension
    assert rec is not None
    if session.scalar(select(Extension.id).where(Extension.key == rec.key)) is not None:
        return
    session.add(
        Extension(
            key=rec.key,
            assignment_id=inp.assignment_id,
            period_index=inp.snapshot.period_index,
            requested_due_at=rec.requested_due_at,
            reason=rec.reason,
            requested_by_id=inp.actor_id,
            requested_at=inp.at,
        )
    )


def decide_extension(session: Session, inp: RecordInput) -> None:
    """Record a decision on the extension request it names."""
    rec = inp.decision
    assert rec is not None
    ext = session.scalar(select(Extension).where(Extension.key == rec.request_key))
    if ext is None:
        return
    ext.state = "granted" if rec.grant else "refused"
    ext.decided_by_id = inp.actor_id
    ext.decided_at = inp.at
    ext.granted_due_at = rec.due_at if rec.grant else None
    ext.decision_comment = rec.comment


def escalate(session: Session, inp: RecordInput) -> None:
    """Insert a reached rung once, or resolve the period's open rungs."""
    rec = inp.escalation
    assert rec is not None
    period = inp.snapshot.period_index
    if rec.resolve:
        session.execute(
            update(Escalation)
            .where(
                Escalation.assignment_id == inp.assignment_id,
                Escalation.period_index == period,
                Escalation.resolved_at.is_(None),
            )
            .values(resolved_at=inp.at)
        )
        return
    exists = session.scalar(
        select(Escalation.id).where(
            Escalation.assignment_id == inp.assignment_id,
            Escalation.period_index == period,
            Escalation.level == rec.level,
        )
    )
    if exists is None:
        session.add(
            Escalation(
                assignment_id=inp.assignment_id,
                period_index=period,
                level=rec.level,
                reached_at=inp.at,
            )
        )


def apply_step(session: Session, inp: RecordInput) -> AuditEvent | None:
    """Apply one workflow step; return its audit event, or None when its key is stored.

    The caller adds the event after everything else it writes, just before it commits: the
    flush that chains events holds the chain's head until the commit (duban.models.audit).
    """
    if session.scalar(select(AuditEvent.id).where(AuditEvent.key == inp.key)) is not None:
        return None
    assignment = session.get_one(Assignment, inp.assignment_id)
    apply_snapshot(assignment, inp.snapshot, inp.at)
    if inp.period is not None:
        patch_period(session, inp.assignment_id, inp.period)
    if inp.submission is not None:
        add_submission(session, inp)
    if inp.review is not None:
        review_submission(session, inp)
    if inp.extension is not None:
        add_extension(session, inp)
    if inp.decision is not None:
        decide_extension(session, inp)
    if inp.escalation is not None:
        escalate(session, inp)
    if inp.plan is not None:
        replan_periods(session, inp.assignment_id, inp.plan)
    return AuditEvent(
        key=inp.key,
        at=inp.at,
        kind=inp.kind,
        actor_id=inp.actor_id,
        actor_label=inp.actor,
        policy_id=assignment.policy_id,
        assignment_id=inp.assignment_id,
        data=inp.data,
    )
