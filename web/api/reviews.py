"""`/api/v1/reviews` and the supervisor's assignment actions: review, due date, extensions, 催办."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from actions import review as actions
from duban.services.paging import Slice, sql_window
from duban.services.review import (
    extension_after,
    extension_cursor,
    extension_queue,
    load_evidence,
    review_after,
    review_cursor,
    review_queue,
)
from web.deps import SessionDep
from web.openapi import error_responses
from web.paging import PAGED_RESPONSES, CursorDep, name_next
from web.schemas import RowId
from web.schemas.assignments import ActionResultRead
from web.schemas.supervision import (
    BulkApproveCreate,
    BulkResultRead,
    DueUpdate,
    ExtensionDecisionCreate,
    PendingExtensionRead,
    ReviewCreate,
    ReviewRowRead,
    SupervisorCaller,
    SupervisorUser,
    UrgeCreate,
    UrgeRead,
)

router = APIRouter(prefix="/api/v1", tags=["supervision"])
# An action the workflow refuses in its current state, or a key reused for another action.
CONFLICT = error_responses(409)


@router.get("/reviews", response_model=list[ReviewRowRead], responses=PAGED_RESPONSES)
def list_reviews(
    request: Request,
    response: Response,
    user: SupervisorUser,
    session: SessionDep,
    paging: CursorDep,
) -> list[ReviewRowRead]:
    """Return the submissions awaiting review, oldest first; `limit` at a time, the rest named
    by the Link header."""
    after = review_after(paging.cursor) if paging.cursor is not None else None
    rows = review_queue(session=session, part=Slice(after=after, limit=paging.limit))
    part = sql_window(rows, limit=paging.limit, cursor=review_cursor)
    name_next(request, response, part.next, paging)
    load_evidence(session=session, rows=part.items)
    return [ReviewRowRead.of(row) for row in part.items]


@router.post("/reviews/bulk-approve", response_model=list[BulkResultRead])
async def bulk_approve(body: BulkApproveCreate, caller: SupervisorCaller) -> list[BulkResultRead]:
    """Approve several submissions with one rating; each reports its own outcome."""
    results = await actions.bulk_approve(
        caller,
        submission_ids=body.submission_ids,
        rating=body.rating,
        comment=body.comment,
    )
    return [BulkResultRead.of(r) for r in results]


@router.get("/extensions", response_model=list[PendingExtensionRead], responses=PAGED_RESPONSES)
def list_extensions(
    request: Request,
    response: Response,
    user: SupervisorUser,
    session: SessionDep,
    paging: CursorDep,
) -> list[PendingExtensionRead]:
    """Return the pending extension requests with their reasons, oldest first; `limit` at a
    time, the rest named by the Link header."""
    after = extension_after(paging.cursor) if paging.cursor is not None else None
    rows = extension_queue(session=session, part=Slice(after=after, limit=paging.limit))
    part = sql_window(rows, limit=paging.limit, cursor=extension_cursor)
    name_next(request, response, part.next, paging)
    return [PendingExtensionRead.of(row) for row in part.items]


@router.post(
    "/assignments/{assignment_id}/review", response_model=ActionResultRead, responses=CONFLICT
)
async def review(
    assignment_id: RowId, body: ReviewCreate, caller: SupervisorCaller
) -> ActionResultRead:
    """Approve the pending submission with a rating, or return it with a reason."""
    verdict = actions.Verdict(body.decision, body.rating, body.comment, body.new_due_at)
    outcome = await actions.review(caller, assignment_id, verdict=verdict, key=body.key)
    return ActionResultRead.of(outcome)


@router.post(
    "/assignments/{assignment_id}/due", response_model=ActionResultRead, responses=CONFLICT
)
async def set_due(
    assignment_id: RowId, body: DueUpdate, caller: SupervisorCaller
) -> ActionResultRead:
    """Move the current due date; the original stays on record."""
    outcome = await actions.set_due(
        caller, assignment_id, due_at=body.due_at, reason=body.reason, key=body.key
    )
    return ActionResultRead.of(outcome)


@router.post(
    "/assignments/{assignment_id}/extensions/{extension_id}/decision",
    response_model=ActionResultRead,
    responses=CONFLICT,
)
async def decide_extension(
    assignment_id: RowId,
    extension_id: RowId,
    body: ExtensionDecisionCreate,
    caller: SupervisorCaller,
) -> ActionResultRead:
    """Grant or refuse an extension request of this assignment."""
    outcome = await actions.decide_extension(
        caller,
        assignment_id,
        extension_id=extension_id,
        grant=body.grant,
        due_at=body.due_at,
        comment=body.comment,
        key=body.key,
    )
    return ActionResultRead.of(outcome)


@router.post(
    "/assignments/{assignment_id}/urge",
    response_model=UrgeRead,
    status_code=202,
    responses=CONFLICT,
)
async def urge(assignment_id: RowId, body: UrgeCreate, caller: SupervisorCaller) -> UrgeRead:
    """催办: remind the department now; recorded on the timeline."""
    message = await actions.urge(caller, assignment_id, message=body.message, key=body.key)
    return UrgeRead(message=message)
