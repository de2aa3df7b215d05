"""Read-model activities: the only writers of assignment state, periods, submissions and the timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from duban.models import (
    Assignment,
    AssignmentPeriod,
    AuditEvent,
    Escalation,
    Evidence,
    Extension,
    Submission,
)


@dataclass(frozen=True)
class PeriodRow:
    """A planned period as stored: index, due time, label, source and whether it is history."""

    index: int
    due_at: datetime
    label: str
    source: str = "cadence"
    historic: bool = False


@dataclass(frozen=True)
class RecordPeriodsInput:
    """All periods of an assignment, written once when its workflow starts."""

    assignment_id: int
    periods: list[PeriodRow]


@dataclass(frozen=True)
class Snapshot:
    """The assignment's mirrored state after a step of its workflow."""

    state: str
    period_index: int
    due_at: datetime | None
    original_due_at: datetime | None
    escalation_level: int
    acknowledged_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class PeriodPatch:
    """Changes to one period row; None leaves a column as it is."""

    index: int
    due_at: datetime | None = None
    state: str | None = None
    closed_at: datetime | None = None
    on_time: bool | None = None
    rating: int | None = None


@dataclass(frozen=True)
class SubmissionRecord:
    """A new submission; its key is the Update id."""

    key: str
    report: str
    evidence_ids: list[int]
    late: bool


@dataclass(frozen=True)
class ReviewRecord:
    """A supervisor's verdict on the submission with `submission_key`."""

    submission_key: str
    decision: str
    rating: int | None
    comment: str


@dataclass(frozen=True)
class ExtensionRecord:
    """A new extension request; its key is the Update id."""

    key: str
    requested_due_at: datetime
    reason: str


@dataclass(frozen=True)
class ExtensionDecisionRecord:
    """A supervisor's decision on the extension request `request_key`."""

    request_key: str
    grant: bool
    due_at: datetime | None
    comment: str


@dataclass(frozen=True)
class EscalationRecord:
    """A rung reached (`resolve=False`) or the period's open rungs resolved (`resolve=True`)."""

    level: int = 0
    resolve: bool = False


@dataclass(frozen=True)
class RecordInput:
    """One step of a workflow: an audit event plus the read-model rows it changes, in one transaction."""

    key: str
    assignment_id: int
    kind: str
    at: datetime
    snapshot: Snapshot
    actor_id: int | None = None
    actor: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    period: PeriodPatch | None = None
    submission: SubmissionRecord | None = None
    review: ReviewRecord | None = None
    extension: ExtensionRecord | None = None
    decision: ExtensionDecisionRecord | None = None
    escalation: EscalationRecord | None = None


class ReadModelActivities:
    """Activities writing the SQL read model; each is idempotent by its key."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    @activity.defn
    def record_periods(self, inp: RecordPeriodsInput) -> int:
        """Insert the periods not yet stored; return how many were added."""
        with self.session_factory.begin() as session:
            have = set(
                session.scalars(
                    select(AssignmentPeriod.index).where(
                        AssignmentPeriod.assignment_id == inp.assignment_id
                    )
                )
            )
            new = [p for p in inp.periods if p.index not in have]
            for p in new:
                session.add(
                    AssignmentPeriod(
                        assignment_id=inp.assignment_id,
                        index=p.index,
                        due_at=p.due_at,
                        original_due_at=p.due_at,
                        source=p.source,
                        label=p.label,
                        historic=p.historic,
                        state="historic" if p.historic else "open",
                    )
                )
            return len(new)

    @activity.defn
    def record(self, inp: RecordInput) -> bool:
        """Apply one workflow step; return False when its key was already recorded."""
        with self.session_factory.begin() as session:
            if session.scalar(select(AuditEvent.id).where(AuditEvent.key == inp.key)) is not None:
                return False
            assignment = session.get_one(Assignment, inp.assignment_id)
            _apply_snapshot(assignment, inp.snapshot, inp.at)
            if inp.period is not None:
                _patch_period(session, inp.assignment_id, inp.period)
            if inp.submission is not None:
                _add_submission(session, inp)
            if inp.review is not None:
                _review_submission(session, inp)
            if inp.extension is not None:
                _add_extension(session, inp)
            if inp.decision is not None:
                _decide_extension(session, inp)
            if inp.escalation is not None:
                _escalate(session, inp)
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


def _apply_snapshot(assignment: Assignment, snap: Snapshot, at: datetime) -> None:
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


def _patch_period(session: Session, assignment_id: int, patch: PeriodPatch) -> None:
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


def _add_submission(session: Session, inp: RecordInput) -> None:
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
        )
    )


def _review_submission(session: Session, inp: RecordInput) -> None:
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


def _add_extension(session: Session, inp: RecordInput) -> None:
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


def _decide_extension(session: Session, inp: RecordInput) -> None:
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


def _escalate(session: Session, inp: RecordInput) -> None:
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
