"""`/api/v1/departments`: everyone may list them; the admin creates and renames them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from duban.services.department_admin import (
    create_department,
    get_department,
    list_departments,
    rename_department,
)
from duban.services.department_search import MAX_QUERY, search_departments
from web.deps import AdminUser, CurrentUser, SessionDep
from web.openapi import error_responses
from web.paging import PAGED_RESPONSES, CursorDep, window
from web.schemas import DepartmentCreate, DepartmentRead, DepartmentUpdate

router = APIRouter(prefix="/api/v1/departments", tags=["departments"])
# A code or a name already taken.
CONFLICT = error_responses(409)


@router.get("", response_model=list[DepartmentRead], responses=PAGED_RESPONSES)
def list_all(
    request: Request,
    response: Response,
    user: CurrentUser,
    session: SessionDep,
    paging: CursorDep,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY,
            description="search by name, code or alias in either script (best first, at most 20)",
        ),
    ] = None,
) -> list[DepartmentRead]:
    """List the departments as `[{"code", "name"}]` by code, `limit` at a time (the rest named
    by the Link header); or those matching `q`, best first (at most 20, one answer)."""
    if q is not None:
        return [
            DepartmentRead.of(m.department) for m in search_departments(session=session, query=q)
        ]
    rows = list_departments(session=session)
    part = window(request, response, rows, key=lambda d: (d.code,), paging=paging)
    return [DepartmentRead.of(d) for d in part.items]


@router.post("", response_model=DepartmentRead, status_code=201, responses=CONFLICT)
def create(body: DepartmentCreate, admin: AdminUser, session: SessionDep) -> DepartmentRead:
    """Create a department with a stable code."""
    return DepartmentRead.of(create_department(session=session, code=body.code, name=body.name))


@router.get("/{code}", response_model=DepartmentRead)
def read(code: str, user: CurrentUser, session: SessionDep) -> DepartmentRead:
    """Return one department."""
    return DepartmentRead.of(get_department(session=session, code=code))


@router.patch("/{code}", response_model=DepartmentRead, responses=CONFLICT)
def rename(
    code: str, body: DepartmentUpdate, admin: AdminUser, session: SessionDep
) -> DepartmentRead:
    """Change a department's name; the code stays."""
    renamed = rename_department(session=session, code=code, name=body.name, actor=admin)
    return DepartmentRead.of(renamed)
