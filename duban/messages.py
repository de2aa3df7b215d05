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
# A notice of these kinds is mailed at once to each recipient with an address (the notify
# activity mails them); every other kind waits for the digest.
URGENT_KINDS = frozenset({"escalation_l1", "escalation_l2", "escalation_l3", "urge"})


# What a notification says, by code: (title, body) templates in Simplified Chinese. Workflows
# store a code and its parameters, never the text; the text is rendered when someone reads it
# (duban.services.notice_text), in the reader's script. Parameters: `item` (the task's number:
# shown as its label and title), `department` (a code: shown as its name), names ending in `_at`
# (ISO 8601 times: shown in Beijing time), `role` (lead or co: shown as ROLE_NAMES), `policy` (a
# policy id: shown as its title), anything else as it is. An empty body template keeps the
# notification's own body (a comment, a reason: the person's words).
NOTICE_TEXTS: dict[str, tuple[str, str]] = {
    "assigned": ("新督办任务：{item}，请及时签收", ""),
    "submitted": ("{item}（{department}）已报送，待审核", ""),
    "sign_off_requested": ("{item}（{department}）的报送待您审核", ""),
    "sign_off_returned": ("{item}的报送被本单位责任人退回，请修改后重新提交", ""),
    "review_approve": ("{item}的报送已通过（{rating}分）", ""),
    "review_return": ("{item}的报送被退回，请修改后重新报送", ""),
    "extension_requested": ("{item}（{department}）申请延期至 {requested_at}", ""),
    "extension_granted": ("{item}的延期申请已批准，新期限 {due_at}", ""),
    "extension_refused": ("{item}的延期申请未获批准", ""),
    "due_moved": ("{item}的期限调整为 {due_at}", ""),
    "urge": ("督办催办：请尽快办理{item}", ""),
    "withdrawn": ("政策文件修订：{item}已不再由本单位承办", ""),
    "revised_due": ("政策文件修订：{item}本期期限调整为 {due_at}", ""),
    "reminder": ("{item}将于 {due_at} 到期，请按时报送", ""),
    "escalation": (
        "【{level}级督办】{item}（{department}）已逾期",
        "原定期限 {original_due_at}，当前期限 {due_at}，尚未报送。",
    ),
    # The services' notices about an assignment (`person`: a person's name, user data).
    # A published document's or ad-hoc task's (交办件) new assignment, told to its department.
    "new_assignment": ("新交办任务（{role}）：{item}", "{policy}"),
    "assigned_to_you": ("{person} 将{item}交由您承办", ""),
    "conversation_message": ("{item}（{department}）有新留言（{person}）", ""),
    "conversation_urge": ("{item}（{department}）有新催办（{person}）", ""),
    "conversation_instruction": ("{item}（{department}）有新领导批示（{person}）", ""),
    "mention": ("{person} 在{item}（{department}）的会话中提到了您", ""),
}

# How a notice's `role` parameter reads.
ROLE_NAMES: dict[str, str] = {"lead": "牵头", "co": "配合"}


# What an Update answers (ActionResult.code): the workflow keeps the code, and the answer's text
# is rendered when it is sent (`action_text`), so an answer repeated from a later run reads the
# same as the first.
ACTION_TEXTS: dict[str, str] = {
    "acknowledged": "已签收",
    "submitted": "已报送，等待审核",
    "held_for_sign_off": "已提交，等待本单位责任人审核后报送督查室",
    "signed_off": "已审核同意，报送督查室",
    "sign_off_returned": "已退回承办人修改",
    "approved": "已审核通过",
    "returned": "已退回",
    "extension_requested": "延期申请已提交，等待审批",
    "extension_granted": "已批准延期",
    "extension_refused": "已驳回延期申请",
    "due_set": "期限已调整",
    "urged": "已催办",
}


def action_text(code: str, message: str = "") -> str:
    """Return an Update answer's text: from its code, or as written by runs before codes."""
    return ACTION_TEXTS.get(code, message)


@dataclass(frozen=True)
class NotifyInput:
    """A message about one assignment to an audience (`department`, `head` or `supervisors`).

    New runs send `code` and `params` (NOTICE_TEXTS) and leave `title` empty; runs recorded
    before codes sent the text in `title`, which is stored as written.
    """

    key: str
    assignment_id: int
    kind: str
    audience: str
    title: str = ""
    body: str = ""
    code: str = ""
    params: dict[str, str | int | None] = field(default_factory=dict)


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
    # The actual value reported for each target of the assignment, keyed by target id.
    actuals: dict[str, float] = field(default_factory=dict)
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
    # Notices the step causes, written in its transaction (never mailed: not URGENT_KINDS).
    notices: list[NotifyInput] = field(default_factory=list)


@dataclass(frozen=True)
class BeginInput:
    """A run's opening writes, in one transaction: periods, first steps, in-app notices."""

    assignment_id: int
    periods: list[PeriodSpec] = field(default_factory=list)
    steps: list[RecordInput] = field(default_factory=list)
    notices: list[NotifyInput] = field(default_factory=list)
