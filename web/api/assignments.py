"""`/api/v1/assignments`: the department workspace's JSON twin (inbox, detail, actions, evidence)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from actions import assignment as actions
from duban.db import utcnow
from duban.services.assignment import (
    InboxFilter,
    Light,
    assignment_detail,
    inbox,
    inbox_scope,
    visible_assignment,
)
from duban.services.evidence import BlobStore, evidence_for_download
from web.deps import CallerDep, CurrentUser, SessionDep
from web.evidence_http import download_response, evidence_store
from web.openapi import error_responses
from web.schemas import RowId
from web.schemas.assignments import (
    ActionRequest,
    ActionResultRead,
    AssignmentRead,
    AssignmentSummary,
    EvidenceCreated,
    ExtensionCreate,
    SubmissionCreate,
)

router = APIRouter(prefix="/api/v1/assignments", tags=["assignments"])
# An action the workflow refuses in its current state, or a key reused for another action.
CONFLICT = error_responses(409)
# An evidence file in the type sniffed at upload (PDF, Office, OpenDocument, images, zip).
FILE = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
StoreDep = Annotated[BlobStore, Depends(evidence_store)]


@router.get("", response_model=list[AssignmentSummary])
def list_assignments(
    user: CurrentUser,
    session: SessionDep,
    light: Light | None = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    role: Annotated[str | None, Query(pattern="^(lead|co)$")] = None,
    q: Annotated[str, Query(max_length=100)] = "",
) -> list[AssignmentSummary]:
    """List the own department's assignments (all for oversight roles), most urgent first."""
    filters = InboxFilter(light=light, state=state or None, role=role, q=q)
    box = inbox(
        session=session,
        department_id=inbox_scope(user),
        now=utcnow(),
        filters=filters,
        me=user.id,
    )
    return [AssignmentSummary.of(row) for row in box.rows]


@router.get("/{assignment_id}", response_model=AssignmentRead)
def read_assignment(assignment_id: RowId, user: CurrentUser, session: SessionDep) -> AssignmentRead:
    """Return one assignment with periods, submissions, evidence and its timeline."""
    assignment = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    return AssignmentRead.of_detail(
        assignment_detail(session=session, assignment=assignment, now=utcnow())
    )


@router.post("/{assignment_id}/acknowledge", response_model=ActionResultRead, responses=CONFLICT)
async def acknowledge(
    assignment_id: RowId, body: ActionRequest, caller: CallerDep
) -> ActionResultRead:
    """签收 the assignment."""
    return ActionResultRead.of(await actions.acknowledge(caller, assignment_id, key=body.key))


@router.post(
    "/{assignment_id}/submissions",
    response_model=ActionResultRead,
    status_code=201,
    responses=CONFLICT,
)
async def submit(
    assignment_id: RowId, body: SubmissionCreate, caller: CallerDep
) -> ActionResultRead:
    """Submit a progress report with evidence ids of this assignment."""
    outcome = await actions.submit(
        caller,
        assignment_id,
        report=body.report,
        evidence_ids=body.evidence_ids,
        key=body.key,
        actuals=body.actual_values(),
        answers=dict(body.answers),
    )
    return ActionResultRead.of(outcome)


@router.post(
    "/{assignment_id}/extensions",
    response_model=ActionResultRead,
    status_code=201,
    responses=CONFLICT,
)
async def request_extension(
    assignment_id: RowId, body: ExtensionCreate, caller: CallerDep
) -> ActionResultRead:
    """Ask for a later due date."""
    outcome = await actions.request_extension(
        caller,
        assignment_id,
        requested_due_at=body.requested_due_at,
        reason=body.reason,
        key=body.key,
    )
    return ActionResultRead.of(outcome)


@router.post(
    "/{assignment_id}/evidence", response_model=EvidenceCreated, status_code=201, responses=CONFLICT
)
async def upload_evidence(
    assignment_id: RowId,
    request: Request,
    file: UploadFile,
    user: CurrentUser,
    session: SessionDep,
    store: StoreDep,
) -> EvidenceCreated:
    """Store one evidence file (multipart `file`); the same file again returns the same id."""
    stored = await run_in_threadpool(
        actions.upload_evidence,
        session=session,
        store=store,
        user=user,
        assignment_id=assignment_id,
        uploads=[actions.Upload(file.filename or "", file.file)],
    )
    return EvidenceCreated.of(stored[0])


@router.get(
    "/{assignment_id}/evidence/{evidence_id}",
    response_class=StreamingResponse,
    responses={200: {"content": FILE, "description": "The file as an attachment"}},
)
def download_evidence(
    assignment_id: RowId,
    evidence_id: RowId,
    user: CurrentUser,
    session: SessionDep,
    store: StoreDep,
) -> StreamingResponse:
    """Download an evidence file (department and supervisors only) after re-checking its SHA-256."""
    evidence = evidence_for_download(
        session=session, user=user, assignment_id=assignment_id, evidence_id=evidence_id
    )
    return download_response(store, evidence)
