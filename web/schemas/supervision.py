"""HTTP shapes of the supervisor console: the guard, board filters, queue rows and action bodies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from actions.assignment import Caller
from actions.review import COMMENT_MAX_CHARS, BulkResult
from duban.domain import UserRole
from duban.models import AssignmentMessage, User
from duban.rules import RATING_MAX, RATING_MIN
from duban.services.assignment import Light
from duban.services.board import BoardFilter, BoardRow
from duban.services.review import EscalationRow, ExtensionRow, ReviewRow
from duban.services.target import TargetTrack
from web.deps import LazyTemporalDep, SessionDep, require_roles
from web.schemas import BodyDateTime, BodyRowId, DepartmentRead, json_integer
from web.schemas.assignments import ActionRequest, TaskRef
from web.schemas.targets import TargetRead

SupervisorUser = Annotated[User, Depends(require_roles(UserRole.SUPERVISOR))]


def supervisor_caller(user: SupervisorUser, session: SessionDep, lazy: LazyTemporalDep) -> Caller:
    """Return the signed-in supervisor as a caller (anyone else: 403)."""
    return Caller(session, user, lazy)


SupervisorCaller = Annotated[Caller, Depends(supervisor_caller)]
Rating = Annotated[int, Field(ge=RATING_MIN, le=RATING_MAX), BeforeValidator(json_integer)]
PERIOD_PATTERN = r"^(\d{4}(Q[1-4])?)?$"


def board_filter(
    policy: Annotated[str, Query(max_length=100)] = "",
    section: Annotated[int | None, Query(ge=0, le=999)] = None,
    item: Annotated[int | None, Query(ge=0, le=9999)] = None,
    department: Annotated[str, Query(max_length=64)] = "",
    level: Annotated[int | None, Query(ge=0, le=3)] = None,
    period: Annotated[str, Query(pattern=PERIOD_PATTERN)] = "",
    light: Light | None = None,
    q: Annotated[str, Query(max_length=100)] = "",
    under: Annotated[str, Query(max_length=64)] = "",
) -> BoardFilter:
    """Read the board's filters from the query string (bad values are a 422)."""
    return BoardFilter(
        policy, section, item, department, level, period, light, q.strip(), under.strip()
    )


BoardFilterDep = Annotated[BoardFilter, Depends(board_filter)]


class CascadeChildRead(BaseModel):
    """A sub-assignment (转办/分解) of a board row."""

    assignment_id: int
    department: DepartmentRead
    state: str
    light: str
    due_at: datetime | None
    target_share: int | None
    # Its share of the task's targets (a quantity × share/100, a rate as is) and its actuals.
    targets: list[TargetRead] = []

    @classmethod
    def of(cls, row: BoardRow, tracks: list[TargetTrack] | None = None) -> CascadeChildRead:
        """Build from the child's board row and its target tracks."""
        a = row.assignment
        return cls(
            assignment_id=a.id,
            department=DepartmentRead.of(a.department),
            state=a.state,
            light=row.light.color.value,
            due_at=a.due_at,
            target_share=a.target_share,
            targets=[TargetRead.of(t) for t in tracks or []],
        )


class BoardRowRead(BaseModel):
    """An assignment on the overdue board."""

    assignment_id: int
    task: TaskRef
    section: int
    department: DepartmentRead
    role: str
    state: str
    light: str
    light_reason: str
    days_late: int
    due_at: datetime | None
    original_due_at: datetime | None
    escalation_level: int
    last_urged_at: datetime | None = None
    last_urge_message: str | None = None
    # 层层分解: the assignment this one was split from, and the ones split from it.
    parent_id: int | None = None
    children: list[CascadeChildRead] = []

    @classmethod
    def of(
        cls,
        row: BoardRow,
        urge: AssignmentMessage | None = None,
        children: list[BoardRow] | None = None,
        tracks: Mapping[int, list[TargetTrack]] | None = None,
    ) -> BoardRowRead:
        """Build from a board row, its latest 催办 (if any) and its sub-assignments (`tracks`:
        the target tracks of each sub-assignment)."""
        a = row.assignment
        return cls(
            parent_id=a.parent_id,
            children=[
                CascadeChildRead.of(c, (tracks or {}).get(c.assignment.id)) for c in children or []
            ],
            assignment_id=a.id,
            task=TaskRef.of(row),
            section=row.section_number,
            department=DepartmentRead.of(a.department),
            role=a.role,
            state=a.state,
            light=row.light.color.value,
            light_reason=row.light.reason,
            days_late=row.days_late,
            due_at=a.due_at,
            original_due_at=a.original_due_at,
            escalation_level=a.escalation_level,
            last_urged_at=urge.created_at if urge else None,
            last_urge_message=urge.body if urge else None,
        )


class BoardRead(BaseModel):
    """The board: counts per light (before the light filter), the total and the rows."""

    total: int
    counts: dict[str, int]
    rows: list[BoardRowRead]
    next: str | None = Field(
        default=None, description="the cursor of the rows after these (None: no more)"
    )


class ReviewRowRead(BaseModel):
    """A submission awaiting review."""

    submission_id: int
    assignment_id: int
    task: TaskRef
    department: DepartmentRead
    period_index: int
    report: str
    late: bool
    submitted_at: datetime
    evidence_ids: list[int]
    # Answers to the task's report template (issue 15), by field name.
    answers: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def of(cls, row: ReviewRow) -> ReviewRowRead:
        """Build from a queue row."""
        s, a = row.submission, row.assignment
        return cls(
            submission_id=s.id,
            assignment_id=a.id,
            task=TaskRef.of(row),
            department=DepartmentRead.of(a.department),
            period_index=s.period_index,
            report=s.report,
            late=s.late,
            submitted_at=s.submitted_at,
            evidence_ids=[e.id for e in s.evidence],
            answers={str(k): str(v) for k, v in (s.answers or {}).items()},
        )


class PendingExtensionRead(BaseModel):
    """A pending extension request; the original due date stays on record."""

    id: int
    assignment_id: int
    task: TaskRef
    department: DepartmentRead
    reason: str
    requested_due_at: datetime
    due_at: datetime | None
    original_due_at: datetime | None
    requested_at: datetime

    @classmethod
    def of(cls, row: ExtensionRow) -> PendingExtensionRead:
        """Build from a queue row."""
        x, a = row.extension, row.assignment
        return cls(
            id=x.id,
            assignment_id=a.id,
            task=TaskRef.of(row),
            department=DepartmentRead.of(a.department),
            reason=x.reason,
            requested_due_at=x.requested_due_at,
            due_at=a.due_at,
            original_due_at=a.original_due_at,
            requested_at=x.requested_at,
        )


class EscalationRead(BaseModel):
    """A rung reached on the ladder."""

    id: int
    assignment_id: int
    level: int
    reached_at: datetime
    resolved_at: datetime | None
    period_index: int
    task: TaskRef
    department: DepartmentRead
    due_at: datetime | None

    @classmethod
    def of(cls, row: EscalationRow) -> EscalationRead:
        """Build from an inbox row."""
        e, a = row.escalation, row.assignment
        return cls(
            id=e.id,
            assignment_id=a.id,
            level=e.level,
            reached_at=e.reached_at,
            resolved_at=e.resolved_at,
            period_index=e.period_index,
            task=TaskRef.of(row),
            department=DepartmentRead.of(a.department),
            due_at=a.due_at,
        )


class ReviewCreate(ActionRequest):
    """A verdict: approve with a rating 1–5, or return with a reason (and maybe a new due date)."""

    decision: Literal["approve", "return"]
    rating: Rating | None = None
    comment: str = Field(default="", max_length=COMMENT_MAX_CHARS)
    new_due_at: BodyDateTime | None = None


class DueUpdate(ActionRequest):
    """A new due date (ISO 8601 with a zone) and why."""

    due_at: BodyDateTime
    reason: str = Field(default="", max_length=COMMENT_MAX_CHARS)


class ExtensionDecisionCreate(ActionRequest):
    """Grant (the requested date, or `due_at`) or refuse with a reason."""

    grant: StrictBool
    due_at: BodyDateTime | None = None
    comment: str = Field(default="", max_length=COMMENT_MAX_CHARS)


class UrgeCreate(ActionRequest):
    """A 催办 with an optional message to the department."""

    message: str = Field(default="", max_length=COMMENT_MAX_CHARS)


class BulkApproveCreate(BaseModel):
    """Approve several pending submissions with one rating."""

    model_config = ConfigDict(extra="forbid")

    submission_ids: list[BodyRowId] = Field(min_length=1, max_length=500)
    rating: Rating
    comment: str = Field(default="", max_length=COMMENT_MAX_CHARS)


class BulkResultRead(BaseModel):
    """What happened to one submission of a bulk approval."""

    submission_id: int
    assignment_id: int
    ok: bool
    message: str

    @classmethod
    def of(cls, r: BulkResult) -> BulkResultRead:
        """Build from the action's result."""
        return cls(
            submission_id=r.submission_id, assignment_id=r.assignment_id, ok=r.ok, message=r.message
        )


class UrgeRead(BaseModel):
    """The 催办 was sent."""

    message: str


class RatesRead(BaseModel):
    """Counts and rates (0..1, four places) of one group of periods."""

    key: str
    name: str
    periods: int
    due: int
    completed: int
    on_time: int
    overdue: int
    completion_rate: float
    on_time_rate: float
    overdue_rate: float


class CockpitRead(BaseModel):
    """Completion, on-time and overdue rates overall, by department, by task and by quarter."""

    overall: RatesRead
    by_department: list[RatesRead]
    by_task: list[RatesRead]
    trend: list[RatesRead]
    # Drilled down the organisation tree: each unit directly below `under` (its subtree counted).
    under: str | None = None
    by_unit: list[RatesRead] = []
    # When the periods were counted (UTC): the figures are kept up to 30 s.
    as_of: datetime | None = None
