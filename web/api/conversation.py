"""`/api/v1`: the conversation of an assignment, its named assignee, 批示 and a leader's remit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, UploadFile
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from actions import assignment as actions
from duban.db import utcnow
from duban.domain import UserRole
from duban.errors import Forbidden
from duban.models import Assignment, User
from duban.services.assignee import assign_member, members
from duban.services.assignment import owned_assignment, visible_assignment
from duban.services.conversation import may_talk, messages_of, post_message
from duban.services.evidence import BlobStore
from duban.services.leader import red_in_remit, remit, set_remit
from duban.services.sign_off import set_head_sign_off
from duban.services.user import get_user
from web.deps import AdminUser, CallerDep, CurrentUser, SessionDep, require_roles
from web.evidence_http import evidence_store
from web.openapi import error_responses
from web.schemas import DepartmentRead, RowId
from web.schemas.assignments import ActionResultRead, EvidenceCreated
from web.schemas.conversation import (
    AssigneeRead,
    AssigneeUpdate,
    AuthorRead,
    InstructionCreate,
    MessageCreate,
    MessageRead,
    PolicySettingsRead,
    PolicySettingsUpdate,
    RedRowRead,
    RemitUpdate,
    SignOffCreate,
)

router = APIRouter(prefix="/api/v1", tags=["conversation"])
IntakeUser = Annotated[User, Depends(require_roles(UserRole.SUPERVISOR, UserRole.ADMIN))]
LeaderUser = Annotated[User, Depends(require_roles(UserRole.LEADER))]
StoreDep = Annotated[BlobStore, Depends(evidence_store)]


def talking_assignment(*, session: Session, assignment_id: int, user: User) -> Assignment:
    """Return the assignment if the user takes part in its conversation (404 unseen, 403 mute)."""
    assignment = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    if not may_talk(session, user, assignment):
        raise Forbidden("您不能在该事项的会话中留言。")
    return assignment


@router.get("/assignments/{assignment_id}/messages", response_model=list[MessageRead])
def list_messages(
    assignment_id: RowId, user: CurrentUser, session: SessionDep
) -> list[MessageRead]:
    """Return the conversation (messages, 催办, 批示), oldest first."""
    assignment = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    return [MessageRead.of(m) for m in messages_of(session=session, assignment_id=assignment.id)]


@router.post("/assignments/{assignment_id}/messages", response_model=MessageRead, status_code=201)
def create_message(
    assignment_id: RowId, body: MessageCreate, user: CurrentUser, session: SessionDep
) -> MessageRead:
    """Write to the conversation; the other side and every @named user are notified."""
    assignment = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    message = post_message(
        session=session,
        assignment=assignment,
        author=user,
        body=body.body,
        evidence_ids=list(body.evidence_ids),
    )
    return MessageRead.of(message)


@router.post(
    "/assignments/{assignment_id}/attachments", response_model=EvidenceCreated, status_code=201
)
async def upload_attachment(
    assignment_id: RowId, file: UploadFile, user: CurrentUser, session: SessionDep, store: StoreDep
) -> EvidenceCreated:
    """Store a file for a message in the evidence store (department, supervisors, leaders)."""
    stored = await run_in_threadpool(
        actions.upload_evidence,
        session=session,
        store=store,
        user=user,
        assignment_id=assignment_id,
        uploads=[actions.Upload(file.filename or "", file.file)],
        check=talking_assignment,
    )
    return EvidenceCreated.of(stored[0])


@router.post(
    "/assignments/{assignment_id}/instructions", response_model=MessageRead, status_code=201
)
def create_instruction(
    assignment_id: RowId, body: InstructionCreate, user: LeaderUser, session: SessionDep
) -> MessageRead:
    """A leader's 批示: on the timeline and in the conversation; department and supervisors told."""
    assignment = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    message = post_message(
        session=session, assignment=assignment, author=user, body=body.body, kind="instruction"
    )
    return MessageRead.of(message)


@router.get("/assignments/{assignment_id}/members", response_model=list[AuthorRead])
def list_members(assignment_id: RowId, user: CurrentUser, session: SessionDep) -> list[AuthorRead]:
    """Return the members of the assignment's department the head may hand it to."""
    assignment = owned_assignment(session=session, assignment_id=assignment_id, user=user)
    return [
        AuthorRead.of(u) for u in members(session=session, department_id=assignment.department_id)
    ]


@router.put("/assignments/{assignment_id}/assignee", response_model=AssigneeRead)
def set_assignee(
    assignment_id: RowId, body: AssigneeUpdate, user: CurrentUser, session: SessionDep
) -> AssigneeRead:
    """The head hands the assignment to a named member (承办人), or back to the whole unit."""
    assignment = owned_assignment(session=session, assignment_id=assignment_id, user=user)
    assign_member(session=session, assignment=assignment, head=user, assignee_id=body.assignee_id)
    assignee = session.get(User, assignment.assignee_id) if assignment.assignee_id else None
    return AssigneeRead(
        assignment_id=assignment.id, assignee=AuthorRead.of(assignee) if assignee else None
    )


@router.get("/leader/red", response_model=list[RedRowRead])
def leader_red(user: LeaderUser, session: SessionDep) -> list[RedRowRead]:
    """Return what is red (overdue) in the leader's departments, most escalated first."""
    return [RedRowRead.of(r) for r in red_in_remit(session=session, user=user, now=utcnow())]


@router.get("/users/{user_id}/departments", response_model=list[DepartmentRead])
def read_remit(user_id: RowId, admin: AdminUser, session: SessionDep) -> list[DepartmentRead]:
    """Return the departments a leader oversees."""
    leader = get_user(session=session, user_id=user_id)
    return [DepartmentRead.of(d) for d in remit(session=session, user=leader)]


@router.put("/users/{user_id}/departments", response_model=list[DepartmentRead])
def update_remit(
    user_id: RowId, body: RemitUpdate, admin: AdminUser, session: SessionDep
) -> list[DepartmentRead]:
    """Replace the departments a leader (分管领导) oversees."""
    leader = get_user(session=session, user_id=user_id)
    set_remit(session=session, leader=leader, codes=body.departments, actor=admin)
    return [DepartmentRead.of(d) for d in remit(session=session, user=leader)]


@router.post(
    "/assignments/{assignment_id}/sign-off",
    response_model=ActionResultRead,
    responses=error_responses(409),
)
async def sign_off(
    assignment_id: RowId, body: SignOffCreate, caller: CallerDep
) -> ActionResultRead:
    """The department head signs off a member's held report (to the supervisors) or returns it."""
    outcome = await actions.sign_off(
        caller, assignment_id, approve=body.approve, comment=body.comment, key=body.key
    )
    return ActionResultRead.of(outcome)


@router.put("/policies/{policy_id}/settings", response_model=PolicySettingsRead)
def update_policy_settings(
    policy_id: RowId, body: PolicySettingsUpdate, user: IntakeUser, session: SessionDep
) -> PolicySettingsRead:
    """Turn head sign-off on or off for the policy's assignments (off by default)."""
    policy = set_head_sign_off(
        session=session, policy_id=policy_id, on=body.head_sign_off, actor=user
    )
    return PolicySettingsRead(policy_id=policy.id, head_sign_off=policy.head_sign_off)
