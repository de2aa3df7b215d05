"""The overdue board (督办台): lights by department and by task, a heat map, filters, drill-down."""

from __future__ import annotations

from typing import Annotated, Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from duban.db import utcnow
from duban.services.board import (
    LIGHTS,
    BoardFilter,
    GroupView,
    GroupWindow,
    board,
    options,
    task_key,
)
from duban.services.orgtree import tree_rows
from duban.services.paging import MAX_PAGE, MAX_PAGE_SIZE, PAGE_SIZE, Paged, Slice
from duban.services.review import escalation_counts, queue_counts
from web.deps import SessionDep
from web.rendering import render
from web.schemas.supervision import BoardFilterDep, SupervisorUser

router = APIRouter(include_in_schema=False)
VIEWS = ("list", "department", "task", "heat")


def board_link(filters: BoardFilter, **changes: object) -> str:
    """Return the board URL with the filters and `changes` (None drops a filter)."""
    query = filters.query(**changes)
    return "/board" + ("?" + urlencode(query) if query else "")


@router.get("/board")
def board_page(
    request: Request,
    user: SupervisorUser,
    session: SessionDep,
    filters: BoardFilterDep,
    view: Annotated[str, Query(pattern="^(list|department|task|heat)?$")] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    size: Annotated[int, Query(ge=5, le=MAX_PAGE_SIZE)] = PAGE_SIZE,
) -> Response:
    """Show every assignment with its light, sorted by lateness, in the chosen view.

    Every view is paged (`page`, `size` up to 100): the list by rows; the department and task
    views by groups, each card with its counts and first rows; the heat map by task columns,
    every department a row. Counts cover everything the filters leave.
    """
    shown = view or "list"
    offset = (page - 1) * size
    listed = shown == "list"
    part = Slice(offset=offset, limit=size) if listed else Slice(limit=0)
    window = None if listed else GroupWindow(cast(GroupView, shown), offset, size)
    found = board(session=session, now=utcnow(), filters=filters, part=part, groups=window)
    paged_groups = found.by_department if shown == "department" else found.by_task

    def page_url(n: int) -> str:
        return board_link(filters, view=shown, page=n, size=size if size != PAGE_SIZE else None)

    ctx: dict[str, Any] = {
        "b": found,
        "f": filters,
        "opts": options(session=session, policy=filters.policy),
        "tree": tree_rows(session=session),
        "view": shown,
        "pg": Paged(found.rows, page, size, found.shown)
        if listed
        else Paged(paged_groups, page, size, found.groups_total),
        "page_url": page_url,
        "views": VIEWS,
        "lights": LIGHTS,
        "link": board_link,
        "task_key": task_key,
        "queues": queue_counts(session=session),
        "ladder": escalation_counts(session=session, assignment_ids=found.ids),
        "back": str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
    }
    return render(request, "board/index.html", ctx, block="board")
