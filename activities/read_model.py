"""Read-model activities: the only writers of assignment state, periods, submissions and the timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities import records
from activities.notify import NotifyInput, add_notifications
from duban.models import Assignment, AuditEvent


@dataclass(frozen=True)
class PeriodSpec:
    """A reporting period as planned at import: index, due time, label, source, whether history."""

    index: int
    due_at: datetime
    label: str
    source: str = "cadence"
    historic: bool = False


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
class PlanRecord:
    """A newer policy version's plan: the periods from `first_index` on are replaced by `periods`."""

    first_index: int
    periods: list[PeriodSpec] = field(default_factory=list)


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
    plan: PlanRecord | None = None


@dataclass(frozen=True)
class BeginInput:
    """A run's opening writes, in one transaction: periods, first steps, in-app notices."""

    assignment_id: int
    periods: list[PeriodSpec] = field(default_factory=list)
    steps: list[RecordInput] = field(default_factory=list)
    notices: list[NotifyInput] = field(default_factory=list)


class ReadModelActivities:
    """Activities writing the SQL read model; each is idempotent by its key."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    @activity.defn
    def begin(self, inp: BeginInput) -> int:
        """Store periods, apply steps and add notices (never mailed) at once; return rows added."""
        with self.session_factory.begin() as session:
            added = records.add_periods(session, inp.assignment_id, inp.periods)
            added += sum(_apply(session, step) for step in inp.steps)
            added += sum(len(add_notifications(session, note)) for note in inp.notices)
        return added

    @activity.defn
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
