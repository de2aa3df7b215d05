"""Pure rules of AssignmentWorkflow: which action is allowed now, and when the next alarm rings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from duban.domain import AssignmentState
from duban.rules import (
    WAITING_STATES,
    Refusal,
    acknowledge_refusal,
    extension_date_refusal,
    extension_refusal,
    rating_refusal,
    report_refusal,
    spec_of_json,
    submit_refusal,
)
from temporalio.exceptions import ApplicationError

if TYPE_CHECKING:
    from duban.messages import PeriodSpec

    from workflows.assignment_messages import AssignmentCarry

S = AssignmentState
# States in which the department still owes a report: reminders and the ladder run.
WAITING = WAITING_STATES
LADDER_AUDIENCE = {1: ("head", "escalation_l1"), 2: ("supervisors", "escalation_l2")}
LADDER_TOP = ("supervisors", "escalation_l3")
MAX_KEY = 200
# Update keys carried into the next run: enough for any retry of a recent action to find its
# first result, few enough that a five-year assignment's carried state stays small.
CARRIED_KEYS = 200


@dataclass(frozen=True)
class Alarm:
    """The next timer of a period: a reminder (n = offset index) or a ladder rung (n = level)."""

    at: datetime
    kind: str
    n: int


@dataclass(frozen=True)
class Replan:
    """A revised plan: every period (past and open kept), the new ones after the open one, a moved due."""

    periods: list[PeriodSpec]
    first_new: int
    due_at: datetime | None = None

    @property
    def new(self) -> list[PeriodSpec]:
        """The periods after the open one, as the revision plans them."""
        return self.periods[self.first_new :]


def reject(code: str, message: str) -> NoReturn:
    """Refuse an action with a stable code and a Chinese message."""
    raise ApplicationError(message, type=code, non_retryable=True)


def refuse(refusal: Refusal | None) -> None:
    """Refuse an action when a rule of duban.rules says no."""
    if refusal is not None:
        reject(refusal.code, refusal.message)


def scoped_key(*parts: object) -> str:
    """Join parts into an idempotency key that fits the read model's 255-char columns."""
    key = ":".join(str(p) for p in parts)
    if len(key) <= MAX_KEY:
        return key
    return key[:120] + ":" + hashlib.sha256(key.encode()).hexdigest()


def next_alarm(
    s: AssignmentCarry, reminders: list[timedelta], ladder: list[timedelta]
) -> Alarm | None:
    """Return the earliest pending reminder or rung, or None when nothing is owed."""
    if s.state not in WAITING or s.due_at is None:
        return None
    alarms = [
        Alarm(s.due_at - off, "reminder", i)
        for i, off in enumerate(reminders)
        if i not in s.reminders_sent and (s.due_set_at is None or s.due_at - off >= s.due_set_at)
    ]
    if s.escalation_level < len(ladder):
        level = s.escalation_level + 1
        alarms.append(Alarm(s.due_at + ladder[level - 1], "escalation", level))
    return min(alarms, key=lambda a: (a.at, a.kind)) if alarms else None


def bound_carry(s: AssignmentCarry, keep: int = CARRIED_KEYS) -> None:
    """Trim what continue-as-new carries: the newest `keep` update keys, open periods' co tags."""
    if len(s.results) > keep:
        s.results = dict(list(s.results.items())[-keep:])
    s.co_reported = [tag for tag in s.co_reported if int(tag.split(":", 1)[0]) >= s.period_index]


def ladder_audience(level: int) -> tuple[str, str]:
    """Return (audience, notification kind) of a rung: head, supervisors, then leadership."""
    return LADDER_AUDIENCE.get(level, LADDER_TOP)


def _aware(value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        reject("invalid", "时间须包含时区")


def _open(s: AssignmentCarry) -> None:
    if s.withdrawn:
        reject("conflict", "政策文件修订后，该任务已不再由本单位承办")
    if s.state == S.COMPLETED:
        reject("conflict", "该任务已全部办结")
    if not s.period_begun:
        reject("conflict", "本期已结束，下一期正在开启，请稍后再试")


def check_acknowledge(s: AssignmentCarry, inp: Any, now: datetime) -> None:
    """Allow 签收 only of a newly assigned task."""
    _open(s)
    refuse(acknowledge_refusal(s.state))


def check_submit(s: AssignmentCarry, inp: Any, now: datetime) -> None:
    """Allow a report after 签收 while one is owed, with some text."""
    _open(s)
    refuse(submit_refusal(s.state))
    if not inp.report.strip():
        reject("invalid", "请填写工作进展")
    refuse(report_refusal(spec_of_json(inp.template), inp.answers, inp.evidence_kinds))


def check_review(s: AssignmentCarry, inp: Any, now: datetime) -> None:
    """Allow a verdict on a pending submission: a rating 1–5, or a reason to return."""
    _open(s)
    _aware(inp.new_due_at)
    if s.state != S.SUBMITTED:
        reject("conflict", "没有待审核的报送")
    if inp.decision == "approve":
        refuse(rating_refusal(inp.rating))
    elif inp.decision == "return":
        if not inp.comment.strip():
            reject("invalid", "退回时须说明理由")
        if inp.new_due_at is not None and inp.new_due_at <= now:
            reject("invalid", "新的期限须晚于当前时间")
    else:
        reject("invalid", "审核结论只能是通过或退回")


def check_sign_off(s: AssignmentCarry, inp: Any, now: datetime) -> None:
    """Allow the head's sign-off of a held report; a return needs a reason."""
    _open(s)
    if s.state != S.HEAD_REVIEW or s.held is None:
        reject("conflict", "没有待责任人审核的报送")
    if not inp.approve and not inp.comment.strip():
        reject("invalid", "退回时须说明理由")


def check_extension_request(s: AssignmentCarry, inp: Any, now: datetime) -> None:
    """Allow an extension request while a report is owed, for a later date, with a reason."""
    _open(s)
    _aware(inp.requested_due_at)
    refuse(extension_refusal(s.state))
    if not inp.reason.strip():
        reject("invalid", "请说明延期理由")
    refuse(extension_date_refusal(inp.requested_due_at, now=now, due_at=s.due_at))


def check_extension_decision(s: AssignmentCarry, inp: Any, now: datetime) -> None:
    """Allow a decision on a pending request; a granted date must lie ahead."""
    _open(s)
    _aware(inp.due_at)
    if inp.request_key not in s.pending_extensions:
        reject("conflict", "没有待审批的该项延期申请")
    due = inp.due_at or s.pending_extensions[inp.request_key]
    if inp.grant and due <= now:
        reject("invalid", "批准的期限须晚于当前时间")


def check_set_due(s: AssignmentCarry, inp: Any, now: datetime) -> None:
    """Allow moving the due date of an unfinished period to a time ahead."""
    _open(s)
    _aware(inp.due_at)
    if s.state == S.APPROVED:
        reject("conflict", "本期已审核通过，不能调整期限")
    if inp.due_at <= now:
        reject("invalid", "新的期限须晚于当前时间")


def replan(
    current: list[PeriodSpec], revised: list[PeriodSpec], s: AssignmentCarry, now: datetime
) -> Replan | None:
    """Fit a newer version's plan to a running assignment; None when nothing changes.

    Closed and historic periods stay as they were. The open period stays too, unless the
    revised plan no longer has its planned due date: then it moves to the plan's next due
    date ahead (the original stays on record, as for a supervisor's move). The periods after
    it are replaced by the revised plan's later ones.
    """
    k = s.period_index
    keep = list(current[:k])
    due_at, after = None, max([now, *(p.due_at for p in keep)])
    if s.period_begun and k < len(current):
        spec = current[k]
        keep.append(spec)
        after = spec.due_at
        if s.state != S.APPROVED and all(p.due_at != spec.due_at for p in revised):
            ahead = next((p for p in revised if not p.historic and p.due_at > now), None)
            if ahead is not None:
                after = ahead.due_at
                due_at = ahead.due_at if ahead.due_at != s.due_at else None
    later = [p for p in revised if not p.historic and p.due_at > after]
    new = [replace(p, index=len(keep) + i) for i, p in enumerate(later)]
    if due_at is None and new == current[len(keep) :]:
        return None
    return Replan([*keep, *new], len(keep), due_at)
