"""Cascade pages: splitting an assignment (转办/分解), the supervisor's waiver, the org tree admin."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from actions.cascade import split
from duban.db import release
from duban.errors import DomainError, Invalid
from duban.services.assignment import visible_assignment
from duban.services.cascade import SubSpec, waive_children
from duban.services.orgtree import set_placement, tree_rows
from policies.orgtree import KINDS, LEVELS
from web.deps import AdminUser, CallerDep, SessionDep, intake_of
from web.pages.assignments import back_to_detail, detail_context, parse_due_date, render_detail
from web.rendering import render
from web.schemas import FormModel, RowId
from web.schemas.supervision import SupervisorUser

router = APIRouter(include_in_schema=False)
ORG_URL = "/admin/org"
KIND_NAMES = {"": "未设", "government": "人民政府", "department": "部门", "division": "内设机构"}
LEVEL_NAMES = {
    "": "—",
    "province": "省级",
    "city": "市（州）级",
    "county": "县（市、区）级",
    "township": "乡镇级",
}


class SplitForm(FormModel):
    """A sub-assignment: the unit below (code), its due day and its share of the targets."""

    department: str = ""
    due_date: str = ""
    share: str = "0"


class WaiverForm(FormModel):
    """A supervisor's waiver of the open sub-assignments."""

    reason: str = ""


class PlacementForm(FormModel):
    """Place a unit in the tree."""

    code: str = ""
    parent: str = ""
    kind: str = ""
    level: str = ""


def _share(raw: str) -> int:
    value = raw.strip() or "0"
    if not value.isascii() or not value.isdigit() or len(value) > 3:
        raise Invalid("指标分解比例须为 0 至 100 的整数。")
    return int(value)


@router.post("/assignments/{assignment_id}/subassignments")
async def split_form(
    request: Request,
    assignment_id: RowId,
    form: Annotated[SplitForm, Form()],
    caller: CallerDep,
) -> Response:
    """转办/分解 from the assignment page; a refusal re-renders the page with the typed values."""
    values = {"department": form.department, "due_date": form.due_date, "share": form.share}
    try:
        spec = SubSpec(form.department.strip(), parse_due_date(form.due_date), _share(form.share))
        await run_in_threadpool(release, caller.session)
        await split(intake_of(request), parent_id=assignment_id, spec=spec, user=caller.user)
    except DomainError as exc:
        if exc.status == 404:
            raise
        caller.session.expire_all()
        ctx = await run_in_threadpool(
            detail_context,
            caller.session,
            caller.user,
            assignment_id,
            split_error=exc.message,
            split_values=values,
        )
        return render_detail(request, ctx, exc.status)
    return back_to_detail(request, assignment_id, "已分解，下级单位已收到任务。")


@router.post("/assignments/{assignment_id}/cascade-waiver")
def waiver_form(
    request: Request,
    assignment_id: RowId,
    form: Annotated[WaiverForm, Form()],
    user: SupervisorUser,
    session: SessionDep,
) -> Response:
    """A supervisor waives the open sub-assignments of this assignment (audited)."""
    a = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    try:
        waive_children(session=session, assignment=a, user=user, reason=form.reason)
    except DomainError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        ctx = detail_context(session, user, assignment_id, split_error=exc.message)
        return render_detail(request, ctx, exc.status)
    return back_to_detail(request, assignment_id, "已豁免：上级任务可以报送办结。")


def _org_context(session: Session, **extra: Any) -> dict[str, Any]:
    rows = tree_rows(session=session)
    return {
        "rows": rows,
        "codes": {r.department.id: r.department.code for r in rows},
        "kinds": KINDS,
        "levels": LEVELS,
        "kind_names": KIND_NAMES,
        "level_names": LEVEL_NAMES,
        "error": None,
        "form": PlacementForm(),
        "flash": None,
        **extra,
    }


@router.get("/admin/org")
def org_page(request: Request, user: AdminUser, session: SessionDep) -> Response:
    """Show the organisation tree and the form that places a unit in it."""
    flash = request.session.pop("flash", None)
    return render(request, "admin/org.html", _org_context(session, flash=flash))


@router.post("/admin/org")
def org_place(
    request: Request,
    form: Annotated[PlacementForm, Form()],
    user: AdminUser,
    session: SessionDep,
) -> Response:
    """Place a unit; a cycle or a bad kind or level re-renders the page with the reason (4xx)."""
    try:
        set_placement(
            session=session,
            code=form.code.strip(),
            parent_code=form.parent.strip() or None,
            kind=form.kind.strip(),
            level=form.level.strip(),
            actor=user,
        )
    except DomainError as exc:
        session.rollback()
        ctx = _org_context(session, error=exc.message, form=form)
        return render(request, "admin/org.html", ctx, status_code=exc.status)
    request.session["flash"] = "组织树已更新。"
    return RedirectResponse(ORG_URL, status_code=303)
