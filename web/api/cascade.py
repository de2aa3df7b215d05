"""`/api/v1/org` and `/api/v1/assignments/{id}/subassignments`: the cascade's JSON twins."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from actions.cascade import split
from duban.db import release
from duban.services.assignment import visible_assignment
from duban.services.cascade import SubSpec, rollup, waive_children
from duban.services.orgtree import set_placement, tree_rows
from web.deps import AdminUser, CurrentUser, SessionDep, intake_of
from web.openapi import error_responses
from web.schemas import RowId
from web.schemas.cascade import (
    CascadeRead,
    OrgNodeRead,
    OrgPlacement,
    SubAssignmentCreate,
    WaiverCreate,
)
from web.schemas.supervision import SupervisorUser

router = APIRouter(prefix="/api/v1", tags=["cascade"])


@router.get("/org", response_model=list[OrgNodeRead])
def read_org(user: CurrentUser, session: SessionDep) -> list[OrgNodeRead]:
    """Return the organisation tree depth-first (province → city → county → township, divisions)."""
    rows = tree_rows(session=session)
    codes = {r.department.id: r.department.code for r in rows}
    return [OrgNodeRead.of(r, codes) for r in rows]


@router.put("/org/{code}", response_model=OrgNodeRead, responses=error_responses(404, 409, 422))
def place_unit(code: str, body: OrgPlacement, user: AdminUser, session: SessionDep) -> OrgNodeRead:
    """Place a unit under another (null parent: at the top); a cycle is a 422 `tree_cycle`."""
    set_placement(
        session=session,
        code=code,
        parent_code=body.parent.strip() if body.parent else None,
        kind=body.kind,
        level=body.level,
        actor=user,
    )
    rows = tree_rows(session=session)
    codes = {r.department.id: r.department.code for r in rows}
    return next(OrgNodeRead.of(r, codes) for r in rows if r.department.code == code)


@router.get(
    "/assignments/{assignment_id}/subassignments",
    response_model=CascadeRead,
    responses=error_responses(404),
)
def read_cascade(assignment_id: RowId, user: CurrentUser, session: SessionDep) -> CascadeRead:
    """Return the sub-assignments of an assignment and how they roll up."""
    a = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    return CascadeRead.of(a, rollup(session=session, assignment=a))


@router.post(
    "/assignments/{assignment_id}/subassignments",
    response_model=CascadeRead,
    status_code=201,
    responses=error_responses(403, 404, 409, 422, 503),
)
async def create_subassignment(
    request: Request,
    assignment_id: RowId,
    body: SubAssignmentCreate,
    user: CurrentUser,
    session: SessionDep,
) -> CascadeRead:
    """转办/分解: split the assignment for a unit below the department; it runs as its own workflow."""
    spec = SubSpec(body.department.strip(), body.due_at, body.share)
    await run_in_threadpool(release, session)  # the split commits in its own transaction
    await split(intake_of(request), parent_id=assignment_id, spec=spec, user=user)

    def read() -> CascadeRead:
        session.expire_all()
        a = visible_assignment(session=session, assignment_id=assignment_id, user=user)
        return CascadeRead.of(a, rollup(session=session, assignment=a))

    return await run_in_threadpool(read)


@router.post(
    "/assignments/{assignment_id}/cascade-waiver",
    response_model=CascadeRead,
    responses=error_responses(404, 409, 422),
)
def waive(
    assignment_id: RowId, body: WaiverCreate, user: SupervisorUser, session: SessionDep
) -> CascadeRead:
    """A supervisor lets the parent be submitted as done with sub-assignments open (audited)."""
    a = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    waive_children(session=session, assignment=a, user=user, reason=body.reason)
    return CascadeRead.of(a, rollup(session=session, assignment=a))
