"""The leader cockpit: rates by department and task and their trend, as inline SVG charts."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from duban.db import utcnow
from duban.services.cockpit import cockpit_of, tree_rates
from web.deps import SessionDep
from web.rendering import render
from web.schemas.supervision import SupervisorUser

router = APIRouter(include_in_schema=False)


def board_url(**filters: object) -> str:
    """Return the board URL narrowed to `filters` (a task key `policy#item` becomes two)."""
    task = filters.pop("task", None)
    if isinstance(task, str):
        policy, _, item = task.rpartition("#")
        filters.update(policy=policy, item=item)
    query = {k: str(v) for k, v in filters.items() if v not in (None, "")}
    return "/board" + ("?" + urlencode(query) if query else "")


@router.get("/cockpit")
def cockpit_page(
    request: Request,
    user: SupervisorUser,
    session: SessionDep,
    under: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Show completion, on-time and overdue rates at a glance; every figure drills down.

    The periods are counted at most every 30 s (the app's snapshot; past that, within 5
    minutes, the held counts answer while a thread takes the next); due and overdue are split
    against now from those counts, and the page says when they were taken."""
    now = utcnow()
    snapshot = request.app.state.cockpit_snapshots.get(
        session=session, now=now, factory=request.app.state.session_factory
    )
    figures = cockpit_of(snapshot, now=now)
    tree = tree_rates(
        session=session, now=now, under=under.strip(), by_department=figures.by_department
    )
    ctx = {"c": figures, "board_url": board_url, "tree": tree}
    return render(request, "cockpit/index.html", ctx)
