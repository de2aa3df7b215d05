"""Map a draft's unit to a department found by a server-side search (htmx as one types; a GET without JS)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from duban.errors import Invalid
from duban.services.department_search import MAX_QUERY, search_departments
from duban.services.draft import get_draft
from duban.services.draft_edit import ITEM_REF_RE, item_ref
from web.deps import IntakeUser, SessionDep
from web.rendering import is_htmx, render
from web.schemas import RowId

router = APIRouter(prefix="/policies", include_in_schema=False)


@router.get("/drafts/{draft_id}/departments")
def department_search_page(
    request: Request,
    draft_id: RowId,
    user: IntakeUser,
    session: SessionDep,
    item: Annotated[str, Query(max_length=40)],
    unit: Annotated[int, Query(ge=0, le=1000)],
    lock_version: Annotated[int, Query(ge=0)],
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
) -> Response:
    """Show the departments matching `q` to map unit `unit` of `item` to (htmx: the list only).

    The mapping forms carry the lock version of the page the search was made from, so a
    search never lets a stale page overwrite another clerk's change.
    """
    draft = get_draft(session=session, draft_id=draft_id)
    if ITEM_REF_RE.match(item) is None:
        raise Invalid(f"条目编号“{item}”格式不正确")
    found = next((i for i in draft.corrected["items"] if item_ref(draft_id, i) == item), None)
    units = found["units"] if found else []
    ctx: dict[str, Any] = {
        "draft": draft,
        "item": found,
        "item_ref": item,
        "unit_index": unit,
        "unit": units[unit] if unit < len(units) else None,
        "lock_version": lock_version,
        "q": q,
        "matches": search_departments(session=session, query=q),
        "target": f"{item}-u{unit}",
        "partial": is_htmx(request),
    }
    return render(request, "drafts/departments.html", ctx, block="results")
