"""Pages of issue 15: a task's report template (supervisors) and the department's reusable files."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from duban.errors import Invalid
from duban.models import User
from duban.rules import EVIDENCE_KINDS, FIELD_TYPES, ReportSpec
from duban.services.evidence_reuse import QUERY_MAX_CHARS, reusable_evidence, reuse_evidence
from duban.services.report_template import (
    get_template,
    save_template,
    spec_from_data,
    task_item,
    template_spec,
)
from web.deps import CurrentUser, SessionDep
from web.pages.assignments import FLASH, back_to_detail
from web.rendering import render
from web.schemas import FormModel, RowId
from web.schemas.supervision import SupervisorUser
from web.views.report_templates import template_url

router = APIRouter(include_in_schema=False)
BLANK_ROWS = 3
CHOICE_SPLIT = re.compile(r"[、,，;；\n]+")


class TemplateForm(FormModel):
    """The template page's rows (parallel lists; `field_required` holds the row numbers ticked)."""

    field_name: list[str] = Field(default_factory=list)
    field_label: list[str] = Field(default_factory=list)
    field_type: list[str] = Field(default_factory=list)
    field_unit: list[str] = Field(default_factory=list)
    field_choices: list[str] = Field(default_factory=list)
    field_required: list[str] = Field(default_factory=list)
    evidence_kinds: list[str] = Field(default_factory=list)

    def spec(self) -> ReportSpec:
        """Return the template the rows describe; blank rows are skipped, blank names numbered."""

        def at(values: list[str], i: int) -> str:
            return values[i].strip() if i < len(values) else ""

        rows = []
        for i in range(len(self.field_label)):
            name, label = at(self.field_name, i), at(self.field_label, i)
            if not (name or label):
                continue
            rows.append(
                {
                    "name": name or f"f{i + 1}",
                    "label": label,
                    "type": at(self.field_type, i) or "text",
                    "unit": at(self.field_unit, i),
                    "choices": [
                        c for c in CHOICE_SPLIT.split(at(self.field_choices, i)) if c.strip()
                    ],
                    "required": str(i) in self.field_required,
                }
            )
        return spec_from_data(rows, self.evidence_kinds)


def _template_context(
    session: Session, policy_id: int, item_number: int, spec: ReportSpec | None, **extra: Any
) -> dict[str, Any]:
    """Return what the template page shows: the task, its rows and the choices of kinds."""
    item = task_item(session=session, policy_id=policy_id, item_number=item_number)
    if spec is None:
        spec = template_spec(
            get_template(session=session, policy_id=policy_id, item_number=item_number)
        )
    return {
        "item": item,
        "policy_id": policy_id,
        "spec": spec or ReportSpec(),
        "blank_rows": BLANK_ROWS,
        "field_types": FIELD_TYPES,
        "evidence_kinds": EVIDENCE_KINDS,
        "error": None,
        "flash": None,
        **extra,
    }


@router.get("/policies/{policy_id}/tasks/{item_number}/report-template")
def template_page(
    request: Request,
    policy_id: RowId,
    item_number: RowId,
    user: SupervisorUser,
    session: SessionDep,
) -> Response:
    """Show the task's report template as rows a supervisor may change."""
    flash = request.session.pop(FLASH, None)
    ctx = _template_context(session, policy_id, item_number, None, flash=flash)
    return render(request, "report_templates/edit.html", ctx)


@router.post("/policies/{policy_id}/tasks/{item_number}/report-template")
def template_form(
    request: Request,
    policy_id: RowId,
    item_number: RowId,
    form: Annotated[TemplateForm, Form()],
    user: SupervisorUser,
    session: SessionDep,
) -> Response:
    """Save the template; a bad one re-renders the rows as typed with the reason (422)."""
    spec = form.spec()
    try:
        with session.begin_nested():
            save_template(
                session=session, user=user, policy_id=policy_id, item_number=item_number, spec=spec
            )
    except Invalid as exc:
        ctx = _template_context(session, policy_id, item_number, spec, error=exc.message)
        return render(request, "report_templates/edit.html", ctx, status_code=exc.status)
    request.session[FLASH] = "报送模板已保存，各承办单位今后的报送将按此填报。"
    return RedirectResponse(template_url(policy_id, item_number), status_code=303)


def _reuse_context(session: Session, user: User, assignment_id: int, q: str) -> dict[str, Any]:
    """Return the department's reusable files matching `q`."""
    rows = reusable_evidence(session=session, user=user, assignment_id=assignment_id, q=q)
    return {"assignment_id": assignment_id, "rows": rows, "q": q}


@router.get("/assignments/{assignment_id}/reusable-evidence")
def reusable_page(
    request: Request,
    assignment_id: RowId,
    user: CurrentUser,
    session: SessionDep,
    q: Annotated[str, Query(max_length=QUERY_MAX_CHARS)] = "",
) -> Response:
    """List (and search by name) the department's earlier files to attach to this assignment."""
    ctx = _reuse_context(session, user, assignment_id, q)
    return render(request, "report_templates/reuse.html", ctx, block="rows")


class ReuseForm(FormModel):
    """The file chosen from the department's earlier uploads."""

    evidence_id: RowId


@router.post("/assignments/{assignment_id}/reusable-evidence")
def reuse_form(
    request: Request,
    assignment_id: RowId,
    form: Annotated[ReuseForm, Form()],
    user: CurrentUser,
    session: SessionDep,
) -> Response:
    """Attach the chosen file and go back to the assignment page."""
    evidence = reuse_evidence(
        session=session, user=user, assignment_id=assignment_id, evidence_id=form.evidence_id
    )
    return back_to_detail(request, assignment_id, f"已附上：{evidence.filename}")
