"""Messages between the workflows and their activities: stdlib-only dataclasses, safe in the sandbox.

The workflows build them and the activities apply them; neither imports the other. Activity
names are stated here once, so a workflow calls an activity by name without importing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Activity names: ReadModelActivities.begin / .record, NotifyActivities.notify.
BEGIN_ACTIVITY = "begin"
RECORD_ACTIVITY = "record"
NOTIFY_ACTIVITY = "notify"


@dataclass(frozen=True)
class NotifyInput:
    """A message about one assignment to an audience (`department`, `head` or `supervisors`)."""

    key: str
    assignment_id: int
    kind: str
    audience: str
    title: str
    body: str = ""


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
    # Answers to the task's report template (issue 15), by field name.
    answers: dict[str, str] | None = None


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
