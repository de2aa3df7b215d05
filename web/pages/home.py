"""The workbench (/): who you are, what you do, and a traffic-light summary of the work in view."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from duban.db import utcnow
from duban.domain import DEPARTMENT_ROLES, AssignmentState, UserRole
from duban.models import Assignment, Department, Policy, User
from web.deps import CurrentUser, SessionDep
from web.rendering import render

router = APIRouter(include_in_schema=False)
AMBER_WINDOW = timedelta(days=7)
DONE_STATES = frozenset({AssignmentState.APPROVED, AssignmentState.COMPLETED})


def light(state: str, due_at: datetime | None, now: datetime) -> str:
    """Return done / red / amber / green for an assignment's state and due date."""
    if state in DONE_STATES:
        return "done"
    if due_at is not None and due_at < now:
        return "red"
    if due_at is not None and due_at - now < AMBER_WINDOW:
        return "amber"
    return "green"


def traffic(session: Session, department_id: int | None) -> dict[str, int]:
    """Count assignments per light, for one department or for all."""
    query = select(Assignment.state, Assignment.due_at)
    if department_id is not None:
        query = query.where(Assignment.department_id == department_id)
    counts = {"total": 0, "green": 0, "amber": 0, "red": 0, "done": 0}
    now = utcnow()
    for state, due_at in session.execute(query):
        counts["total"] += 1
        counts[light(state, due_at, now)] += 1
    return counts


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
        ctx["traffic"] = traffic(session, user.department_id if in_department else None)
    return render(request, "home/index.html", ctx)
