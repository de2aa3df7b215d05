"""The escalation inbox by level; level 3 is the leadership view."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from duban.db import utcnow
from duban.services.paging import PAGE_SIZE, Paged, Slice
from duban.services.review import (
    LEVELS,
    escalation_counts,
    escalation_inbox,
    escalation_total,
)
from web.deps import SessionDep
from web.paging import PageDep
from web.rendering import render
from web.schemas.supervision import SupervisorUser

router = APIRouter(include_in_schema=False)


RUNG_NAMES = {1: "一级：单位负责人", 2: "二级：督查室", 3: "三级：分管领导"}


@router.get("/escalations")
def escalations_page(
    request: Request,
    user: SupervisorUser,
    session: SessionDep,
    paging: PageDep,
    level: Annotated[int | None, Query(ge=1, le=3)] = None,
) -> Response:
    """Show the open rungs of the ladder, one level at a time or all together (paged, searchable)."""
    part = Slice(offset=(paging.page - 1) * paging.size, limit=paging.size)
    rows = escalation_inbox(session=session, level=level, q=paging.q, part=part)
    counts = escalation_counts(session=session)
    if paging.q:
        total = escalation_total(session=session, level=level, q=paging.q)
    else:  # the tabs' counts already say how many
        total = counts[level] if level else sum(counts.values())
    pg = Paged(rows[: paging.size], paging.page, paging.size, total)

    def page_url(n: int) -> str:
        size = paging.size if paging.size != PAGE_SIZE else None
        query = {"level": level, "q": paging.q, "page": n, "size": size}
        return "/escalations?" + urlencode({k: v for k, v in query.items() if v})

    ctx = {
        "rows": pg.items,
        "pg": pg,
        "page_url": page_url,
        "q": paging.q,
        "counts": counts,
        "level": level,
        "levels": LEVELS,
        "rung_names": RUNG_NAMES,
        "now": utcnow(),
        "back": str(request.url.path) + ("?" + request.url.query if request.url.query else ""),
    }
    return render(request, "escalations/index.html", ctx, block="inbox")
