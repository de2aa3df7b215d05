"""The 交办件 page: a supervisor creates a task without a document."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from duban.errors import Conflict, Invalid
from duban.models import Department
from duban.services.adhoc import ORIGINS, AdhocSpec
from duban.services.draft_json import CADENCES
from web.api.adhoc import create_adhoc
from web.deps import IntakeUser, SessionDep
from web.rendering import render
from web.schemas import FormModel

router = APIRouter(include_in_schema=False)


class AdhocForm(FormModel):
    """The page's fields; the lead first, then the co-organizers."""

    title: str = Field(default="", max_length=400)
    body: str = Field(default="", max_length=10_000)
    origin: str = "instruction"
    lead: str = ""
    co: list[str] = Field(default_factory=list, max_length=200)
    deadline: str = ""
    cadence: str = "one-off"


def _page(request: Request, session: Session, status: int = 200, **extra: Any) -> Response:
    ctx = {
        "departments": list(session.scalars(select(Department).order_by(Department.name))),
        "origins": ORIGINS,
        "cadences": CADENCES,
        "error": None,
        "values": {},
        **extra,
    }
    return render(request, "adhoc/new.html", ctx, status_code=status)


@router.get("/adhoc/new")
def new_page(request: Request, user: IntakeUser, session: SessionDep) -> Response:
    """The empty form."""
    return _page(request, session)


@router.post("/adhoc/new")
async def create_page(
    request: Request, form: Annotated[AdhocForm, Form()], user: IntakeUser, session: SessionDep
) -> Response:
    """Publish the ad-hoc task and go to its policy; a refusal shows the form again (422)."""
    try:
        try:
            deadline = date.fromisoformat(form.deadline.strip())
        except ValueError as exc:
            raise Invalid("请按 年-月-日 填写办结时限。") from exc
        units = [form.lead, *(c for c in form.co if c != form.lead)] if form.lead else []
        spec = AdhocSpec(form.title, form.body, form.origin, units, deadline, form.cadence)
        made = await create_adhoc(request, session, user, spec)
    except (Invalid, Conflict) as exc:
        values = form.model_dump()
        return await run_in_threadpool(
            _page, request, session, exc.status, error=exc.message, values=values
        )
    return RedirectResponse(f"/policies/{made.policy_id}", status_code=303)
