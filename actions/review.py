"""The supervisor's actions on an assignment (review, due date, extensions, 催办): no HTTP, shared by pages and API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from actions import temporal
from actions.assignment import (
    ActionOutcome,
    Caller,
    action_key,
    actor_label,
    check_text,
    send,
)
from duban.db import release, utcnow
from duban.domain import ExtensionState, ReviewDecision
from duban.errors import Conflict, DomainError, Invalid, NotFound
from duban.models import Assignment, User
from duban.rules import rating_refusal
from duban.services.conversation import claim_urge, withdraw_urge
from duban.services.review import extension_of, pending_submission
from workflows.assignment import (
    ExtensionDecisionInput,
    ReviewInput,
    SetDueInput,
    UrgeInput,
)

COMMENT_MAX_CHARS = 2_000
URGE_DEFAULT = "请尽快办理并报送工作进展。"


@dataclass(frozen=True)
class Verdict:
    """A review: approve with a rating 1–5, or return with a reason (and maybe a new due date)."""

    decision: str
    rating: int | None = None
    comment: str = ""
    new_due_at: datetime | None = None


@dataclass(frozen=True)
class BulkResult:
    """What a bulk approval did to one submission."""

    submission_id: int
    assignment_id: int
    ok: bool
    message: str


def _get(session: Session, assignment_id: int) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound("督办事项不存在。")
    return assignment


async def _assignment(caller: Caller, assignment_id: int) -> Assignment:
    """Load the assignment off the event loop (a supervisor may act on any)."""
    return await run_in_threadpool(_get, caller.session, assignment_id)


def check_future(value: datetime | None, *, label: str) -> datetime:
    """Return a zone-aware moment after now, or raise Invalid with a clear message."""
    if value is None:
        raise Invalid(f"请填写{label}。")
    if value.tzinfo is None:
        raise Invalid(f"{label}须带时区（ISO 8601，如 2027-03-31T23:59:00+08:00）。")
    if value <= utcnow():
        raise Invalid(f"{label}必须晚于当前时间。")
    return value


def check_verdict(verdict: Verdict) -> Verdict:
    """Refuse a malformed verdict before it reaches the workflow."""
    if verdict.decision not in set(ReviewDecision):
        raise Invalid("审核结论只能是通过（approve）或退回（return）。")
    comment = (verdict.comment or "").strip()
    if len(comment) > COMMENT_MAX_CHARS:
        raise Invalid(f"审核意见不能超过 {COMMENT_MAX_CHARS} 字。")
    if verdict.decision == ReviewDecision.APPROVE:
        if (refusal := rating_refusal(verdict.rating)) is not None:
            raise Invalid(refusal.message)
        return Verdict(verdict.decision, verdict.rating, comment)
    comment = check_text(comment, label="退回理由", max_chars=COMMENT_MAX_CHARS)
    due = verdict.new_due_at
    if due is not None:
        check_future(due, label="新的截止时间")
    return Verdict(verdict.decision, None, comment, due)


async def review(
    caller: Caller, assignment_id: int, *, verdict: Verdict, key: str | None
) -> ActionOutcome:
    """Approve or return the assignment's pending submission through its workflow."""
    verdict = check_verdict(verdict)
    assignment = await _assignment(caller, assignment_id)
    user = caller.user
    inp = ReviewInput(
        key=action_key(assignment, "review", key),
        user_id=user.id,
        actor=actor_label(user),
        decision=verdict.decision,
        rating=verdict.rating,
        comment=verdict.comment,
        new_due_at=verdict.new_due_at,
    )
    return await send(caller, temporal.review, assignment, inp)


async def bulk_approve(
    caller: Caller,
    *,
    submission_ids: list[int],
    rating: int,
    comment: str = "",
) -> list[BulkResult]:
    """Approve several pending submissions with one rating; each is keyed by its submission."""
    check_verdict(Verdict(ReviewDecision.APPROVE, rating, comment))
    if not submission_ids:
        raise Invalid("请至少选择一条待审核的报送。")
    results: list[BulkResult] = []
    for sid in dict.fromkeys(submission_ids):
        try:
            sub = await run_in_threadpool(
                pending_submission, session=caller.session, submission_id=sid
            )
            outcome = await review(
                caller,
                sub.assignment_id,
                verdict=Verdict(ReviewDecision.APPROVE, rating, comment),
                key=f"bulk-{sub.key}"[-100:],
            )
            results.append(BulkResult(sid, sub.assignment_id, True, outcome.message))
        except DomainError as exc:
            results.append(BulkResult(sid, 0, False, exc.message))
    return results


async def set_due(
    caller: Caller,
    assignment_id: int,
    *,
    due_at: datetime | None,
    reason: str,
    key: str | None,
) -> ActionOutcome:
    """Move the current due date (the original stays on record)."""
    due = check_future(due_at, label="新的截止时间")
    reason = (reason or "").strip()[:COMMENT_MAX_CHARS]
    assignment = await _assignment(caller, assignment_id)
    user = caller.user
    inp = SetDueInput(
        key=action_key(assignment, "due", key),
        user_id=user.id,
        actor=actor_label(user),
        due_at=due,
        reason=reason,
    )
    return await send(caller, temporal.set_due, assignment, inp)


async def decide_extension(
    caller: Caller,
    assignment_id: int,
    *,
    extension_id: int,
    grant: bool,
    due_at: datetime | None,
    comment: str,
    key: str | None,
) -> ActionOutcome:
    """Grant (the requested or another date) or refuse a pending extension request."""
    if due_at is not None and grant:
        check_future(due_at, label="批准的截止时间")
    comment = (comment or "").strip()
    if not grant:
        comment = check_text(comment, label="不予延期的理由", max_chars=COMMENT_MAX_CHARS)
    assignment = await _assignment(caller, assignment_id)
    ext = await run_in_threadpool(
        extension_of, session=caller.session, assignment_id=assignment.id, extension_id=extension_id
    )
    if ext.state != ExtensionState.PENDING:
        raise Conflict("该延期申请已处理。")
    user = caller.user
    inp = ExtensionDecisionInput(
        key=action_key(assignment, "extdecide", key),
        user_id=user.id,
        actor=actor_label(user),
        request_key=ext.key,
        grant=grant,
        due_at=due_at if grant else None,
        comment=comment,
    )
    return await send(caller, temporal.decide_extension, assignment, inp)


async def urge(caller: Caller, assignment_id: int, *, message: str, key: str | None) -> str:
    """催办 with a message: refused within the cooldown; the workflow notifies and records it."""
    message = (message or "").strip()[:COMMENT_MAX_CHARS] or URGE_DEFAULT
    assignment = await _assignment(caller, assignment_id)
    if assignment.completed_at is not None or assignment.state == "completed":
        raise Conflict("该任务已全部办结，无需催办。")
    user = caller.user
    claimed = await run_in_threadpool(_claim, caller.session, assignment, user, message)
    inp = UrgeInput(
        key=action_key(assignment, "urge", key),
        user_id=user.id,
        actor=actor_label(user),
        message=message,
    )
    workflow_id = assignment.workflow_id
    try:
        await caller.temporal.run(lambda client: temporal.urge(client, workflow_id, inp))
    except BaseException:
        await run_in_threadpool(_unclaim, caller.session, claimed)
        raise
    return "已催办，承办单位将收到提醒。"


def _claim(session: Session, assignment: Assignment, user: User, message: str) -> int:
    """Record the urge under the cooldown and commit it before the signal goes out."""
    row = claim_urge(
        session=session, assignment=assignment, author=user, message=message, now=utcnow()
    )
    release(session)
    return row.id


def _unclaim(session: Session, message_id: int) -> None:
    withdraw_urge(session=session, message_id=message_id)
    release(session)
