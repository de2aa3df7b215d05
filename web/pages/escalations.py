"""The escalation inbox by level; level 3 is the leadership view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from duban.db import utcnow
from duban.services.review import LEVELS, escalation_counts, escalation_inbox
from web.deps import SessionDep
from web.rendering import render
from web.supervisor_schemas import SupervisorUser

router = APIRouter(include_in_schema=False)
RUNG_NAMES = {1: "一级：单位负责人", 2: "二级：督查室", 3: "三级：分管领导"}


@router.get("/escalations")
def escalations_page(
    request: Request,
    user: SupervisorUser,
    session: SessionDep,
    level: Annotated[int | None, Query(ge=1, le=3)] = None,
) -> Response:
    """Show the open rungs of the ladder, one level at a time or all together."""
    ctx = {
        "rows": escalation_inbox(session=session, level=level),
        "counts": escalation_counts(session=session),
        "level": level,
        "levels": LEVELS,
        "rung_names": RUNG_NAMES,
        "now": utcnow(),
        "back": str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
    }
    return render(request, "escalations/index.html", ctx, block="inbox")
