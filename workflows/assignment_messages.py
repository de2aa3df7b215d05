"""Messages and carried state of AssignmentWorkflow: inputs, results, the Query shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from duban.domain import AssignmentState
    from duban.messages import PeriodSpec as PeriodSpec


@dataclass(frozen=True)
class ActionInput:
    """A plain human action (签收); `key` is the idempotency key and Update id."""

    key: str
    user_id: int
    actor: str


@dataclass(frozen=True)
class SubmitInput:
    """A progress report with evidence for the current period."""

    key: str
    user_id: int
    actor: str
    report: str
    evidence_ids: list[int] = field(default_factory=list)
    # The policy asks the department head to sign a member's report off before it goes up.
    needs_sign_off: bool = False
    # The actual value reported for each target of the assignment, keyed by target id.
    actuals: dict[str, float] = field(default_factory=dict)
    # The task's report template (issue 15) as it stood when sent (JSON, duban.rules.spec_json;
    # "" for none), the answers to its fields and the kinds of the attached evidence: the
    # validator checks them with duban.rules. JSON text, not the dataclass: in the sandbox
    # pydantic cannot resolve the nested dataclass's postponed annotations.
    template: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    evidence_kinds: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SignOffInput:
    """The department head passes a held report on to the supervisors, or returns it."""

    key: str
    user_id: int
    actor: str
    approve: bool
    comment: str = ""


@dataclass(frozen=True)
class ReviewInput:
    """A supervisor's verdict: approve with a rating, or return with a reason."""

    key: str
    user_id: int
    actor: str
    decision: str
    rating: int | None = None
    comment: str = ""
    new_due_at: datetime | None = None


@dataclass(frozen=True)
class ExtensionRequestInput:
    """A department asks for a later due date."""

    key: str
    user_id: int
    actor: str
    requested_due_at: datetime
    reason: str


@dataclass(frozen=True)
class ExtensionDecisionInput:
    """A supervisor grants (optionally with another date) or refuses a request."""

    key: str
    user_id: int
    actor: str
    request_key: str
    grant: bool
    due_at: datetime | None = None
    comment: str = ""


@dataclass(frozen=True)
class SetDueInput:
    """A supervisor moves the current due date; the original stays on record."""

    key: str
    user_id: int
    actor: str
    due_at: datetime
    reason: str = ""


@dataclass(frozen=True)
class UrgeInput:
    """A supervisor's one-click 催办."""

    key: str
    user_id: int
    actor: str
    message: str = ""


@dataclass(frozen=True)
class CoReportInput:
    """A co-organizer tells its lead that it reported for a period."""

    department_code: str
    period_index: int


@dataclass(frozen=True)
class AssignmentRevision:
    """A new policy version reached a running assignment, with its plan of periods (if any)."""

    policy_version: int
    periods: list[PeriodSpec] = field(default_factory=list)
    # The new version no longer names this department for the task: the assignment ends.
    withdrawn: bool = False
    # Who leads and who co-organizes in the new version ("" = as before).
    role: str = ""
    co_department_codes: list[str] = field(default_factory=list)
    lead_department_code: str = ""


@dataclass(frozen=True)
class ActionResult:
    """What an Update did; a repeated key returns the first result."""

    key: str
    state: str
    period_index: int
    due_at: datetime | None
    message: str  # runs before codes: the answer's text; new runs leave it empty
    code: str = ""  # duban.messages.ACTION_TEXTS


@dataclass
class PeriodOutcome:
    """How a closed period ended."""

    index: int
    state: str
    due_at: datetime
    original_due_at: datetime
    closed_at: datetime | None = None
    on_time: bool | None = None
    rating: int | None = None


@dataclass
class AssignmentCarry:
    """The live state of an assignment, carried into the next run by continue-as-new."""

    period_index: int = 0
    period_begun: bool = False
    state: str = AssignmentState.ASSIGNED.value
    due_at: datetime | None = None
    original_due_at: datetime | None = None
    due_set_at: datetime | None = None
    escalation_level: int = 0
    acknowledged_at: datetime | None = None
    submission_key: str | None = None
    submitted_at: datetime | None = None
    rating: int | None = None
    reminders_sent: list[int] = field(default_factory=list)
    pending_extensions: dict[str, datetime] = field(default_factory=dict)
    results: dict[str, ActionResult] = field(default_factory=dict)
    co_reported: list[str] = field(default_factory=list)
    outcomes: list[PeriodOutcome] = field(default_factory=list)
    policy_version: int = 0
    runs: int = 1
    withdrawn: bool = False
    # A member's report waiting for the head's sign-off.
    held: SubmitInput | None = None


@dataclass(frozen=True)
class AssignmentInput:
    """Everything an assignment needs, decided at import; `carry` is set by continue-as-new."""

    policy_key: str
    item_number: int
    department_code: str
    assignment_id: int
    role: str
    periods: list[PeriodSpec]
    reminder_offsets: list[timedelta]
    escalation_offsets: list[timedelta]
    co_department_codes: list[str] = field(default_factory=list)
    policy_version: int = 1
    carry: AssignmentCarry | None = None
    lead_department_code: str = ""


@dataclass(frozen=True)
class AssignmentStatus:
    """The Query result: where the assignment stands now."""

    state: str
    period_index: int
    due_at: datetime | None
    original_due_at: datetime | None
    escalation_level: int
    pending_extensions: list[str]
    periods: list[PeriodOutcome]
    completed: bool
    policy_version: int
    acknowledged_at: datetime | None = None
