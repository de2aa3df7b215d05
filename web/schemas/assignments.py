"""HTTP schemas of the department workspace: assignments, periods, submissions, evidence, actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from actions.assignment import KEY_MAX_CHARS, REASON_MAX_CHARS, REPORT_MAX_CHARS, ActionOutcome
from duban.models import Assignment, AuditEvent, Evidence, Submission
from duban.services.assignment import AssignmentDetail, InboxRow
from duban.services.timeline import timeline_label
from web.schemas import BodyDateTime, BodyRowId, DepartmentRead
from web.schemas.report_templates import AnswerName, AnswerValue
from web.schemas.targets import ActualIn, TargetRead


class TitledRow(Protocol):
    """A service row naming an assignment and its item's title (inbox, board and queue rows)."""

    @property
    def assignment(self) -> Assignment: ...

    @property
    def title(self) -> str: ...


class TaskRef(BaseModel):
    """The policy item an assignment belongs to."""

    number: int
    title: str
    policy_key: str
    policy_title: str

    @classmethod
    def of(cls, row: TitledRow) -> TaskRef:
        """Build from any row that carries an assignment and its item's title."""
        a = row.assignment
        return cls(
            number=a.item_number,
            title=row.title,
            policy_key=a.policy.key,
            policy_title=a.policy.title,
        )


class AssignmentSummary(BaseModel):
    """An assignment as the inbox lists it."""

    id: int
    task: TaskRef
    department: DepartmentRead
    role: str
    state: str
    light: str
    light_reason: str
    period_index: int
    due_at: datetime | None
    escalation_level: int
    assignee_id: int | None = None

    @classmethod
    def of(cls, row: InboxRow) -> AssignmentSummary:
        """Build from an inbox row."""
        a = row.assignment
        return cls(
            id=a.id,
            task=TaskRef.of(row),
            department=DepartmentRead.of(a.department),
            role=a.role,
            state=a.state,
            light=row.light.color.value,
            light_reason=row.light.reason,
            period_index=a.period_index,
            due_at=a.due_at,
            escalation_level=a.escalation_level,
            assignee_id=a.assignee_id,
        )


class PeriodRead(BaseModel):
    """A reporting period."""

    model_config = ConfigDict(from_attributes=True)

    index: int
    label: str
    due_at: datetime
    original_due_at: datetime
    source: str
    historic: bool
    state: str
    on_time: bool | None
    rating: int | None


class EvidenceRead(BaseModel):
    """An evidence file's index entry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    sha256: str
    size: int
    filename: str
    content_type: str
    uploaded_at: datetime


class SubmissionRead(BaseModel):
    """A progress report and its review."""

    id: int
    period_index: int
    report: str
    state: str
    late: bool
    submitted_at: datetime
    rating: int | None
    review_comment: str
    reviewed_at: datetime | None
    evidence_ids: list[int]
    # Answers to the task's report template (issue 15), by field name.
    answers: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def of(cls, s: Submission) -> SubmissionRead:
        """Build from the ORM row."""
        return cls(
            id=s.id,
            period_index=s.period_index,
            report=s.report,
            state=s.state,
            late=s.late,
            submitted_at=s.submitted_at,
            rating=s.rating,
            review_comment=s.review_comment,
            reviewed_at=s.reviewed_at,
            evidence_ids=[e.id for e in s.evidence],
            answers={str(k): str(v) for k, v in (s.answers or {}).items()},
        )


class ExtensionRead(BaseModel):
    """An extension request and its decision."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    period_index: int
    requested_due_at: BodyDateTime
    reason: str
    state: str
    requested_at: datetime
    granted_due_at: datetime | None
    decision_comment: str


class TimelineEntry(BaseModel):
    """One audit event on the assignment's timeline."""

    id: int
    at: datetime
    kind: str
    label: str
    actor: str
    data: dict[str, Any]

    @classmethod
    def of(cls, e: AuditEvent) -> TimelineEntry:
        """Build from the ORM row."""
        return cls(
            id=e.id,
            at=e.at,
            kind=e.kind,
            label=timeline_label(e.kind, e.data),
            actor=e.actor_label,
            data=e.data,
        )


class PartnerRead(BaseModel):
    """Another unit responsible for the same item."""

    department: DepartmentRead
    role: str


class AssignmentRead(AssignmentSummary):
    """An assignment with the item text, the other units, its periods and its timeline."""

    section: str
    body: str
    original_due_at: datetime | None
    acknowledged_at: datetime | None
    partners: list[PartnerRead]
    periods: list[PeriodRead]
    submissions: list[SubmissionRead]
    evidence: list[EvidenceRead]
    extensions: list[ExtensionRead]
    timeline: list[TimelineEntry]
    targets: list[TargetRead] = Field(default_factory=list)

    @classmethod
    def of_detail(cls, d: AssignmentDetail) -> AssignmentRead:
        """Build from the service's detail."""
        summary = AssignmentSummary.of(InboxRow(d.assignment, d.title, d.light, d.ref))
        return cls(
            **summary.model_dump(),
            section=d.item.section_title if d.item else "",
            body=d.item.body if d.item else "",
            original_due_at=d.assignment.original_due_at,
            acknowledged_at=d.assignment.acknowledged_at,
            partners=[
                PartnerRead(department=DepartmentRead.of(p.department), role=p.role)
                for p in d.partners
            ],
            periods=[PeriodRead.model_validate(p) for p in d.periods],
            submissions=[SubmissionRead.of(s) for s in d.submissions],
            evidence=[EvidenceRead.model_validate(e) for e in d.evidence],
            extensions=[ExtensionRead.model_validate(x) for x in d.extensions],
            timeline=[TimelineEntry.of(e) for e in d.timeline],
            targets=[TargetRead.of(t) for t in d.tracks],
        )


class ActionRequest(BaseModel):
    """A body of an action on an assignment; `key` makes a retry do nothing twice."""

    model_config = ConfigDict(extra="forbid")

    key: str | None = Field(default=None, max_length=KEY_MAX_CHARS)


class SubmissionCreate(ActionRequest):
    """A progress report with the ids of evidence already uploaded to this assignment."""

    report: str = Field(min_length=1, max_length=REPORT_MAX_CHARS)
    evidence_ids: list[BodyRowId] = Field(default_factory=list, max_length=1000)
    # The actual of every target of the assignment (see `targets` of the assignment).
    actuals: list[ActualIn] = Field(default_factory=list, max_length=50)

    def actual_values(self) -> dict[str, str]:
        """Return the actuals keyed by target id (a target given twice: the last one)."""
        return {str(a.target_id): a.text() for a in self.actuals}

    # Answers to the task's report template by field name (checked against it: 422 otherwise).
    answers: dict[AnswerName, AnswerValue] = Field(default_factory=dict, max_length=50)


class ExtensionCreate(ActionRequest):
    """A request for a later due date (ISO 8601 with a zone)."""

    requested_due_at: BodyDateTime
    reason: str = Field(min_length=1, max_length=REASON_MAX_CHARS)


class ActionResultRead(BaseModel):
    """What the workflow answered."""

    state: str
    due_at: datetime | None
    message: str

    @classmethod
    def of(cls, outcome: ActionOutcome) -> ActionResultRead:
        """Build from an action outcome."""
        return cls(state=outcome.state, due_at=outcome.due_at, message=outcome.message)


class EvidenceCreated(BaseModel):
    """The stored file: its id, address and size."""

    id: int
    sha256: str
    size: int
    filename: str
    content_type: str

    @classmethod
    def of(cls, e: Evidence) -> EvidenceCreated:
        """Build from the ORM row."""
        return cls(
            id=e.id, sha256=e.sha256, size=e.size, filename=e.filename, content_type=e.content_type
        )
