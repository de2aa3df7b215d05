"""The workbench (/): who you are, what you do, and a traffic-light summary of the work in view."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from duban.db import utcnow
from duban.domain import DEPARTMENT_ROLES, UserRole
from duban.models import Assignment, Department, Policy, User
from duban.services.inbox import traffic
from web.deps import CurrentUser, SessionDep
from web.rendering import render

router = APIRouter(include_in_schema=False)


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


@router.get("/")
def home(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """Show the signed-in user's workbench."""
    role = UserRole(user.role)
    ctx: dict[str, Any] = {"role": role}
    if role == UserRole.ADMIN:
        ctx["totals"] = {
            "home.users": _count(session, User),
            "home.departments": _count(session, Department),
            "home.policies": _count(session, Policy),
            "home.assignments": _count(session, Assignment),
        }
    else:
        in_department = role in DEPARTMENT_ROLES
        scope = user.department_id if in_department else None
        ctx["traffic"] = traffic(session=session, department_id=scope, now=utcnow())
    return render(request, "home/index.html", ctx)
