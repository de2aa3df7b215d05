"""`/api/v1/board`: the overdue board's JSON twin (supervisors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from duban.db import utcnow
from duban.services.board import board, board_after, board_cursor
from duban.services.cockpit import cockpit_of, tree_rates
from duban.services.paging import Slice, Window
from duban.services.target import tracks_of
from web.deps import SessionDep
from web.openapi import error_responses
from web.paging import PAGED_RESPONSES, CursorDep, name_next
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
    after = board_after(paging.cursor) if paging.cursor is not None else None
    part = Slice(after=after, limit=paging.limit)
    found = board(session=session, now=utcnow(), filters=filters, part=part)
    more = found.more and bool(found.rows)
    page = Window(found.rows, board_cursor(found.rows[-1]) if more else None)
    name_next(request, response, page.next, paging)
    kids = [c.assignment for r in page.items for c in found.children.get(r.assignment.id, [])]
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
            for row in page.items
        ],
        next=page.next,
    )


@router.get("/cockpit", response_model=CockpitRead, responses=error_responses(404))
def read_cockpit(
    request: Request,
    user: SupervisorUser,
    session: SessionDep,
    under: Annotated[str, Query(max_length=64)] = "",
) -> CockpitRead:
    """Return completion, on-time and overdue rates overall, by department, task, quarter and
    unit, counted at `as_of` (at most 30 s ago) and split into due and overdue against now."""
    now = utcnow()
    snapshot = request.app.state.cockpit_snapshots.get(
        session=session, now=now, factory=request.app.state.session_factory
    )
    figures = cockpit_of(snapshot, now=now)
    tree = tree_rates(
        session=session, now=now, under=under.strip(), by_department=figures.by_department
    )
    return CockpitRead.model_validate(
        {
            "as_of": figures.as_of,
            "under": tree.under.code if tree.under else None,
            "by_unit": [r.to_json() for r in tree.units],
            "overall": figures.overall.to_json(),
            "by_department": [r.to_json() for r in figures.by_department],
            "by_task": [r.to_json() for r in figures.by_task],
            "trend": [r.to_json() for r in figures.trend],
        }
    )
