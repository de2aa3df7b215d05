"""`/api/v1/board`: the overdue board's JSON twin (supervisors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from duban.db import utcnow
from duban.services.board import board, lateness_key
from duban.services.cockpit import cockpit, task_titles, tree_rates
from duban.services.target import tracks_of
from web.deps import SessionDep
from web.openapi import error_responses
from web.paging import PAGED_RESPONSES, CursorDep, window
from web.schemas.supervision import (
    BoardFilterDep,
    BoardRead,
    BoardRowRead,
    CockpitRead,
    SupervisorUser,
)

router = APIRouter(prefix="/api/v1", tags=["supervision"])


@router.get("/board", response_model=BoardRead, responses=PAGED_RESPONSES)
def read_board(
    request: Request,
    response: Response,
    user: SupervisorUser,
    session: SessionDep,
    filters: BoardFilterDep,
    paging: CursorDep,
) -> BoardRead:
    """Return the assignments matching the filters with their lights, most overdue first, a
    window of `limit` at a time (`next` is the cursor of the rest)."""
    found = board(session=session, now=utcnow(), filters=filters)
    part = window(request, response, found.rows, key=lateness_key, paging=paging)
    kids = [c.assignment for r in part.items for c in found.children.get(r.assignment.id, [])]
    tracks = tracks_of(session=session, assignments=kids, today=utcnow().date()) if kids else {}
    return BoardRead(
        total=found.total,
        counts={light.value: n for light, n in found.counts.items()},
        rows=[
            BoardRowRead.of(
                row,
                found.urges.get(row.assignment.id),
                found.children.get(row.assignment.id),
                tracks,
            )
            for row in part.items
        ],
        next=part.next,
    )


@router.get("/cockpit", response_model=CockpitRead, responses=error_responses(404))
def read_cockpit(
    user: SupervisorUser,
    session: SessionDep,
    under: Annotated[str, Query(max_length=64)] = "",
) -> CockpitRead:
    """Return completion, on-time and overdue rates overall, by department, task, quarter and unit."""
    figures = cockpit(session=session, now=utcnow(), titles=task_titles(session=session))
    tree = tree_rates(session=session, now=utcnow(), under=under.strip())
    return CockpitRead.model_validate(
        {
            "under": tree.under.code if tree.under else None,
            "by_unit": [r.to_json() for r in tree.units],
            "overall": figures.overall.to_json(),
            "by_department": [r.to_json() for r in figures.by_department],
            "by_task": [r.to_json() for r in figures.by_task],
            "trend": [r.to_json() for r in figures.trend],
        }
    )
