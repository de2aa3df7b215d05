"""`/api/v1/escalations`: the rungs reached on the ladder (supervisors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from duban.services.paging import Slice, sql_window
from duban.services.review import escalation_after, escalation_cursor, escalation_inbox
from web.deps import SessionDep
from web.paging import PAGED_RESPONSES, CursorDep, name_next
from web.schemas.supervision import EscalationRead, SupervisorUser

router = APIRouter(prefix="/api/v1/escalations", tags=["supervision"])


@router.get("", response_model=list[EscalationRead], responses=PAGED_RESPONSES)
def list_escalations(
    request: Request,
    response: Response,
    user: SupervisorUser,
    session: SessionDep,
    paging: CursorDep,
    level: Annotated[int | None, Query(ge=1, le=3)] = None,
    include_resolved: bool = False,
) -> list[EscalationRead]:
    """Return open rungs (all with include_resolved), highest level and newest first; `limit`
    at a time, the rest named by the Link header."""
    after = escalation_after(paging.cursor) if paging.cursor is not None else None
    rows = escalation_inbox(
        session=session,
        level=level,
        open_only=not include_resolved,
        part=Slice(after=after, limit=paging.limit),
    )
    part = sql_window(rows, limit=paging.limit, cursor=escalation_cursor)
    name_next(request, response, part.next, paging)
    return [EscalationRead.of(row) for row in part.items]
