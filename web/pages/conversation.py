"""Pages of named people: conversation messages, the assignee, 批示, and the leader's screen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from sqlalchemy.orm import Session
from starlette.responses import Response

from actions import assignment as actions
from duban.db import utcnow
from duban.domain import UserRole
from duban.errors import Conflict, Invalid, TooLarge
from duban.models import User
from duban.services.assignee import assign_member
from duban.services.assignment import owned_assignment, visible_assignment
from duban.services.conversation import MESSAGE_MAX_CHARS, post_message
from duban.services.evidence import BlobStore
from duban.services.leader import red_in_remit, remit
from web.api.conversation import talking_assignment
from web.deps import CallerDep, CurrentUser, SessionDep, require_roles
from web.evidence_http import evidence_store
from web.pages.assignments import act, back_to_detail, detail_context, render_detail
from web.rendering import render
from web.schemas import FormModel, RowId

router = APIRouter(include_in_schema=False)
StoreDep = Annotated[BlobStore, Depends(evidence_store)]
LeaderUser = Annotated[User, Depends(require_roles(UserRole.LEADER))]
MAX_ATTACHMENTS = 10
Text = Annotated[str, Form(max_length=MESSAGE_MAX_CHARS * 2)]


def _refused(
    request: Request,
    session: Session,
    user: User,
    assignment_id: int,
    exc: Invalid | Conflict | TooLarge,
    body: str,
) -> Response:
    session.rollback()
    ctx = detail_context(session, user, assignment_id, error=exc.message, values={"message": body})
    return render_detail(request, ctx, exc.status)


@router.post("/assignments/{assignment_id}/messages")
def message_form(
    request: Request,
    assignment_id: RowId,
    user: CurrentUser,
    session: SessionDep,
    store: StoreDep,
    body: Text = "",
    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 (FastAPI copies the default)
) -> Response:
    """Write to the conversation, with files stored in the evidence store."""
    try:
        assignment = talking_assignment(session=session, assignment_id=assignment_id, user=user)
        actions.check_text(body, label="内容", max_chars=MESSAGE_MAX_CHARS)
        uploads = [actions.Upload(f.filename, f.file) for f in files if f.filename]
        if len(uploads) > MAX_ATTACHMENTS:
            raise Invalid(f"一条留言最多附 {MAX_ATTACHMENTS} 个文件。")
        stored = (
            actions.upload_evidence(
                session=session,
                store=store,
                user=user,
                assignment_id=assignment.id,
                uploads=uploads,
                check=talking_assignment,
            )
            if uploads
            else []
        )
        assignment = visible_assignment(session=session, assignment_id=assignment_id, user=user)
        post_message(
            session=session,
            assignment=assignment,
            author=user,
            body=body,
            evidence_ids=[e.id for e in stored],
        )
    except (Invalid, Conflict, TooLarge) as exc:
        return _refused(request, session, user, assignment_id, exc, body)
    return back_to_detail(request, assignment_id)


@router.post("/assignments/{assignment_id}/instructions")
def instruction_form(
    request: Request, assignment_id: RowId, user: LeaderUser, session: SessionDep, body: Text = ""
) -> Response:
    """A leader's 批示 from the page."""
    try:
        assignment = visible_assignment(session=session, assignment_id=assignment_id, user=user)
        post_message(
            session=session, assignment=assignment, author=user, body=body, kind="instruction"
        )
    except (Invalid, Conflict) as exc:
        return _refused(request, session, user, assignment_id, exc, body)
    return back_to_detail(request, assignment_id)


@router.post("/assignments/{assignment_id}/assignee")
def assignee_form(
    request: Request,
    assignment_id: RowId,
    user: CurrentUser,
    session: SessionDep,
    assignee_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """The head hands the assignment to a named member ("" hands it back to the unit)."""
    try:
        chosen = int(assignee_id) if assignee_id.strip() else None
    except ValueError:
        chosen = 0
    try:
        assignment = owned_assignment(session=session, assignment_id=assignment_id, user=user)
        if chosen == 0:
            raise Invalid("承办人须为本单位在岗人员。")
        assign_member(session=session, assignment=assignment, head=user, assignee_id=chosen)
    except (Invalid, Conflict) as exc:
        return _refused(request, session, user, assignment_id, exc, "")
    return back_to_detail(request, assignment_id)


class SignOffForm(FormModel):
    """The head's decision on a held report: `yes` passes it on, `no` returns it."""

    decision: str = ""
    comment: str = ""
    key: str = ""


@router.post("/assignments/{assignment_id}/sign-off")
async def sign_off_form(
    request: Request,
    assignment_id: RowId,
    form: Annotated[SignOffForm, Form()],
    caller: CallerDep,
) -> Response:
    """The head signs off a member's report (to the supervisors) or returns it, from the page."""

    async def run() -> object:
        if form.decision not in ("yes", "no"):
            raise Invalid("请选择同意报送或退回修改。")
        return await actions.sign_off(
            caller,
            assignment_id,
            approve=form.decision == "yes",
            comment=form.comment,
            key=form.key or None,
        )

    return await act(request, caller, assignment_id, run, {"sign_off_comment": form.comment})


@router.get("/leader")
def leader_page(request: Request, user: LeaderUser, session: SessionDep) -> Response:
    """One screen: what is red in the leader's departments, with the way to write a 批示."""
    ctx = {
        "rows": red_in_remit(session=session, user=user, now=utcnow()),
        "departments": remit(session=session, user=user),
    }
    return render(request, "leader/index.html", ctx)
