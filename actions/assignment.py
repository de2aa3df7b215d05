"""The department's actions on an assignment (签收, report, extension, evidence): no HTTP, shared by pages and API."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, TypeVar

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from actions import temporal
from actions.clients import LazyTemporal
from duban.db import release, utcnow
from duban.domain import UserRole
from duban.errors import Forbidden, Invalid
from duban.models import Assignment, Evidence, User
from duban.rules import extension_date_refusal, normalize_answers, spec_json
from duban.services.assignment import owned_assignment
from duban.services.cascade import check_can_submit
from duban.services.evidence import (
    BlobStore,
    check_evidence_ids,
    check_open_for_evidence,
    index_evidence,
)
from duban.services.report_template import check_report
from duban.services.target import check_actuals
from workflows.assignment import (
    ActionInput,
    ActionResult,
    ExtensionRequestInput,
    SignOffInput,
    SubmitInput,
)

REPORT_MAX_CHARS = 10_000
REASON_MAX_CHARS = 2_000
KEY_MAX_CHARS = 100
_EVIDENCE_WRITER = threading.Lock()
InputT = TypeVar("InputT")


@dataclass(frozen=True)
class ActionOutcome:
    """What the workflow answered: the state after the action and a Chinese message."""

    state: str
    due_at: datetime | None
    message: str


@dataclass(frozen=True)
class Caller:
    """Who acts and through what: the request's session, the user and the lazy Temporal client."""

    session: Session
    user: User
    temporal: LazyTemporal


def actor_label(user: User) -> str:
    """Return how the user appears on the timeline."""
    return user.display_name or user.username


def action_key(assignment: Assignment, verb: str, key: str | None) -> str:
    """Return the idempotency key: the client's (scoped to assignment and verb) or a new one."""
    key = (key or "").strip()
    if len(key) > KEY_MAX_CHARS:
        raise Invalid("幂等键过长。")
    return f"{verb}:{assignment.id}:{key or uuid.uuid4().hex}"


async def _owned(caller: Caller, assignment_id: int) -> Assignment:
    """Load the assignment off the event loop and check the department owns it."""
    return await run_in_threadpool(
        owned_assignment, session=caller.session, assignment_id=assignment_id, user=caller.user
    )


async def send(
    caller: Caller,
    update: Callable[[Client, str, InputT], Awaitable[ActionResult]],
    assignment: Assignment,
    inp: InputT,
) -> ActionOutcome:
    """Send an Update to the assignment's workflow and return what it answered.

    The request's connection goes back to the pool first: the Update may wait on the worker.
    """
    await run_in_threadpool(release, caller.session)
    workflow_id = assignment.workflow_id
    result = await caller.temporal.run(lambda client: update(client, workflow_id, inp))
    return ActionOutcome(state=result.state, due_at=result.due_at, message=result.message)


async def acknowledge(caller: Caller, assignment_id: int, *, key: str | None) -> ActionOutcome:
    """签收: acknowledge the assignment through its workflow."""
    assignment = await _owned(caller, assignment_id)
    user = caller.user
    inp = ActionInput(
        key=action_key(assignment, "ack", key), user_id=user.id, actor=actor_label(user)
    )
    return await send(caller, temporal.acknowledge, assignment, inp)


def check_text(value: str, *, label: str, max_chars: int) -> str:
    """Return the stripped text, or raise Invalid when empty or too long."""
    value = (value or "").strip()
    if not value:
        raise Invalid(f"请填写{label}。")
    if len(value) > max_chars:
        raise Invalid(f"{label}不能超过 {max_chars} 字（当前 {len(value)} 字）。")
    return value


async def submit(
    caller: Caller,
    assignment_id: int,
    *,
    report: str,
    evidence_ids: list[int],
    key: str | None,
    actuals: Mapping[str, str] | None = None,
    answers: dict[str, str] | None = None,
) -> ActionOutcome:
    """Submit a progress report with evidence and the actual of each target through its workflow.

    The task's report template is checked here (a clear 422 before any round trip) and sent
    along, so the workflow's validator checks the same rule again.
    """
    report = check_text(report, label="进展情况", max_chars=REPORT_MAX_CHARS)
    assignment = await _owned(caller, assignment_id)
    # 层层分解: not as done while a sub-assignment is open, unless a supervisor waived it.
    await run_in_threadpool(check_can_submit, session=caller.session, assignment=assignment)
    checked = await run_in_threadpool(
        check_actuals, session=caller.session, assignment=assignment, raw=actuals or {}
    )
    ids = await run_in_threadpool(
        check_evidence_ids,
        session=caller.session,
        assignment_id=assignment.id,
        evidence_ids=evidence_ids,
    )
    spec, kinds = await run_in_threadpool(
        check_report,
        session=caller.session,
        assignment=assignment,
        answers=answers or {},
        evidence_ids=ids,
    )
    user = caller.user
    inp = SubmitInput(
        key=action_key(assignment, "submit", key),
        user_id=user.id,
        actor=actor_label(user),
        report=report,
        evidence_ids=ids,
        # The policy's switch: a member's report waits for the head; the head's own goes up.
        needs_sign_off=assignment.policy.head_sign_off and user.role != UserRole.HEAD,
        actuals=checked,
        template=spec_json(spec),
        answers=normalize_answers(spec, answers or {}) if spec else {},
        evidence_kinds=kinds,
    )
    return await send(caller, temporal.submit, assignment, inp)


async def sign_off(
    caller: Caller, assignment_id: int, *, approve: bool, comment: str, key: str | None
) -> ActionOutcome:
    """The department head passes a member's held report on to the supervisors, or returns it."""
    comment = (comment or "").strip()
    if not approve:
        comment = check_text(comment, label="退回理由", max_chars=REASON_MAX_CHARS)
    elif len(comment) > REASON_MAX_CHARS:
        raise Invalid(f"审核意见不能超过 {REASON_MAX_CHARS} 字。")
    assignment = await _owned(caller, assignment_id)
    user = caller.user
    if user.role != UserRole.HEAD:
        raise Forbidden("只有本单位责任人可以审核报送。")
    inp = SignOffInput(
        key=action_key(assignment, "signoff", key),
        user_id=user.id,
        actor=actor_label(user),
        approve=approve,
        comment=comment,
    )
    return await send(caller, temporal.sign_off, assignment, inp)


async def request_extension(
    caller: Caller,
    assignment_id: int,
    *,
    requested_due_at: datetime,
    reason: str,
    key: str | None,
) -> ActionOutcome:
    """Ask for a later due date through the workflow."""
    reason = check_text(reason, label="延期理由", max_chars=REASON_MAX_CHARS)
    # The workflow checks the same rule against its own clock; this answers before a round trip.
    if (early := extension_date_refusal(requested_due_at, now=utcnow(), due_at=None)) is not None:
        raise Invalid(early.message)
    assignment = await _owned(caller, assignment_id)
    if (
        late := extension_date_refusal(requested_due_at, now=utcnow(), due_at=assignment.due_at)
    ) is not None:
        raise Invalid(late.message)
    user = caller.user
    inp = ExtensionRequestInput(
        key=action_key(assignment, "ext", key),
        user_id=user.id,
        actor=actor_label(user),
        requested_due_at=requested_due_at,
        reason=reason,
    )
    return await send(caller, temporal.request_extension, assignment, inp)


@dataclass(frozen=True)
class Upload:
    """One file of an upload request: its name as sent and its bytes."""

    filename: str
    source: BinaryIO


def evidence_assignment(*, session: Session, assignment_id: int, user: User) -> Assignment:
    """Return the user's own assignment if it still takes evidence; closed: 409 `assignment_closed`."""
    assignment = owned_assignment(session=session, assignment_id=assignment_id, user=user)
    check_open_for_evidence(assignment)
    return assignment


def upload_evidence(
    *,
    session: Session,
    store: BlobStore,
    user: User,
    assignment_id: int,
    uploads: list[Upload],
    check: Callable[..., Assignment] = evidence_assignment,
) -> list[Evidence]:
    """Store files of the user's own assignment and index them all or none (sync: run in a thread).

    `check` finds the assignment and refuses before any byte is stored: by default the
    evidence rule (a closed assignment takes none); a conversation passes its own.

    The request's connection goes back to the pool while the files are checked and stored;
    the rows and audit events are then written and committed in one short transaction of
    the same session, one writer at a time, so concurrent uploads never write from a stale
    SQLite snapshot.
    """
    assignment = check(session=session, assignment_id=assignment_id, user=user)
    owner, actor = user.id, actor_label(user)
    release(session)
    blobs = [(u.filename, store.put(u.source, filename=u.filename)) for u in uploads]
    with _EVIDENCE_WRITER:
        rows = [
            index_evidence(
                session=session,
                blob=blob,
                assignment_id=assignment.id,
                user_id=owner,
                actor=actor,
                filename=name,
            )
            for name, blob in blobs
        ]
        release(session)
    return rows
