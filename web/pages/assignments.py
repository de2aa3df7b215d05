"""Department workspace pages: the inbox, the assignment page and its action forms."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from actions import assignment as actions
from actions.assignment import Caller
from duban.db import utcnow
from duban.domain import DEPARTMENT_ROLES, UserRole
from duban.errors import Conflict, Invalid
from duban.models import Assignment, User
from duban.rules import DONE_STATES, action_flags
from duban.services.assignment import (
    InboxFilter,
    Light,
    assignment_detail,
    inbox,
    inbox_scope,
    visible_assignment,
)
from duban.services.cascade import rollup, split_targets
from duban.services.evidence import may_read_evidence
from duban.services.paper import urge_events
from duban.services.target import rollup_tracks
from duban.services.timeline import timeline_label
from web.deps import CallerDep, CurrentUser, SessionDep
from web.i18n import SHANGHAI
from web.pages.calendar import router as calendar_router
from web.rendering import is_htmx, render
from web.schemas import FormModel, RowId
from web.views.conversation import people_context
from web.views.report_templates import report_context

router = APIRouter(include_in_schema=False)
ROW_IDS: TypeAdapter[int] = TypeAdapter(RowId)
FLASH = "flash"  # a one-time success message, shown once on the next page
ANSWER_PREFIX = "answer."  # form fields of the report template: answer.<field name>
router.include_router(calendar_router)
STATES = (
    "assigned",
    "acknowledged",
    "in_progress",
    "submitted",
    "head_review",
    "returned",
    "approved",
    "completed",
)


class ActionForm(FormModel):
    """签收 and other plain actions: the form's idempotency key."""

    key: str = ""


class SubmissionForm(ActionForm):
    """A progress report, the evidence checked in the form and `answer.<name>` template fields."""

    model_config = ConfigDict(extra="allow")

    report: str = ""
    evidence_ids: list[str] = Field(default_factory=list)
    # The actual of each target: `actuals[i]` is the figure for the target `target_ids[i]`.
    target_ids: list[str] = Field(default_factory=list)
    actuals: list[str] = Field(default_factory=list)

    def actual_values(self) -> dict[str, str]:
        """Return the typed actuals keyed by target id, or raise Invalid when they do not pair."""
        if len(self.target_ids) != len(self.actuals):
            raise Invalid("指标实际值与指标不对应，请刷新页面后重新填写。")
        return {k.strip(): v for k, v in zip(self.target_ids, self.actuals, strict=True)}

    @model_validator(mode="after")
    def _only_answers(self) -> SubmissionForm:
        """Refuse unknown fields other than the template's answers (one value each)."""
        for name, value in (self.model_extra or {}).items():
            if not name.startswith(ANSWER_PREFIX) or not isinstance(value, str):
                raise ValueError(f"unexpected field {name[:40]!r}")
        return self

    def answers(self) -> dict[str, str]:
        """Return the answers to the report template's fields, by field name."""
        extra = self.model_extra or {}
        return {k.removeprefix(ANSWER_PREFIX): str(v) for k, v in extra.items()}


class ExtensionForm(ActionForm):
    """A requested new due date (a day, ending 23:59 Beijing time) and the reason."""

    requested_due_date: str = ""
    reason: str = ""


def _inbox_context(session: Session, user: User, filters: InboxFilter) -> dict[str, Any]:
    """Return what the inbox template needs."""
    box = inbox(
        session=session,
        department_id=inbox_scope(user),
        now=utcnow(),
        filters=filters,
        me=user.id,
    )
    return {"box": box, "filters": filters, "states": STATES, "lights": list(Light), "user": user}


@router.get("/assignments")
def inbox_page(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    light: Annotated[str, Query(max_length=16)] = "",
    state: Annotated[str, Query(max_length=16)] = "",
    role: Annotated[str, Query(max_length=8)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Show the department's assignments with lights, counts, filters and search."""
    filters = InboxFilter(
        light=Light(light) if light in set(Light) else None,
        state=state if state in STATES else None,
        role=role if role in ("lead", "co") else None,
        q=q,
    )
    ctx = _inbox_context(session, user, filters)
    ctx["ical_url"] = _ical_url(request, user)
    return render(request, "assignments/inbox.html", ctx, block="rows")


def _ical_url(request: Request, user: User) -> str | None:
    """Return the user's private feed URL, if they created one."""
    if not user.ical_token:
        return None
    return str(request.url_for("ical_feed", token=user.ical_token))


def detail_context(
    session: Session, user: User, assignment_id: RowId, **extra: Any
) -> dict[str, Any]:
    """Return what the assignment page needs; `extra` carries form errors and values."""
    assignment = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    detail = assignment_detail(session=session, assignment=assignment, now=utcnow())
    for submission in detail.submissions:
        _ = submission.evidence  # load now, not while rendering
    ctx: dict[str, Any] = {
        "d": detail,
        "a": assignment,
        "can_act": user.role in DEPARTMENT_ROLES and user.department_id == assignment.department_id,
        "supervisor": user.role == UserRole.SUPERVISOR,
        "urges": urge_events(session=session, assignment_id=assignment.id)
        if user.role == UserRole.SUPERVISOR
        else [],
        "may_download": may_read_evidence(user),
        "flags": action_flags(assignment.state),
        **cascade_context(session, user, assignment),
        **people_context(session, user, assignment),
        **report_context(session, user, assignment, detail.submissions),
        "form_key": uuid.uuid4().hex,
        "label": timeline_label,
        "error": None,
        "flash": None,
        "values": {},
    }
    ctx.update(extra)
    return ctx


def cascade_context(session: Session, user: User, assignment: Assignment) -> dict[str, Any]:
    """Return the roll-up of the sub-assignments, the units it may be split to, and the parent."""
    roll = rollup(session=session, assignment=assignment)
    own = user.role in DEPARTMENT_ROLES and user.department_id == assignment.department_id
    may_split = own and assignment.state not in DONE_STATES
    return {
        "cascade": roll,
        "rollup_tracks": rollup_tracks(
            session=session, parent=assignment, children=roll.children, today=utcnow().date()
        ),
        "submit_blocked": roll.blocked_reason if own else "",
        "split_targets": split_targets(session=session, assignment=assignment) if may_split else [],
        "parent_assignment": session.get(Assignment, assignment.parent_id)
        if assignment.parent_id
        else None,
        "own_department": own,
        "split_error": None,
        "split_values": {},
    }


@router.get("/assignments/{assignment_id}")
def detail_page(
    request: Request, assignment_id: RowId, user: CurrentUser, session: SessionDep
) -> Response:
    """Show the item text, other units, periods, submissions, evidence, actions and the timeline."""
    flash = request.session.pop(FLASH, None)
    return render_detail(request, detail_context(session, user, assignment_id, flash=flash))


def render_detail(request: Request, ctx: dict[str, Any], status_code: int = 200) -> Response:
    """Render the assignment page (htmx: only its workspace)."""
    return render(
        request, "assignments/detail.html", ctx, block="workspace", status_code=status_code
    )


def back_to_detail(request: Request, assignment_id: RowId, message: str = "") -> Response:
    """Send the browser back to the assignment page (htmx: reload only the workspace).

    `message` is shown once there, as the success note of the action just done.
    """
    if message:
        request.session[FLASH] = message
    url = str(request.url_for("detail_page", assignment_id=assignment_id))
    if is_htmx(request):
        return Response(
            status_code=204, headers={"HX-Location": f'{{"path": "{url}", "target": "#workspace"}}'}
        )
    return RedirectResponse(url, status_code=303)


async def act(
    request: Request,
    caller: Caller,
    assignment_id: RowId,
    action: Callable[[], Awaitable[object]],
    values: dict[str, Any],
) -> Response:
    """Run an action; on a refusal re-render the page with the message and the typed values."""
    try:
        outcome = await action()
    except (Invalid, Conflict) as exc:
        ctx = await run_in_threadpool(
            detail_context,
            caller.session,
            caller.user,
            assignment_id,
            error=exc.message,
            values=values,
        )
        return render_detail(request, ctx, exc.status)
    message = getattr(outcome, "message", "") or "已办理。"
    return back_to_detail(request, assignment_id, message)


@router.post("/assignments/{assignment_id}/acknowledge")
async def acknowledge_form(
    request: Request, assignment_id: RowId, form: Annotated[ActionForm, Form()], caller: CallerDep
) -> Response:
    """签收 from the page."""

    async def run() -> object:
        return await actions.acknowledge(caller, assignment_id, key=form.key)

    return await act(request, caller, assignment_id, run, {})


def parse_ids(raw: list[str]) -> list[int]:
    """Return evidence ids from form values, or raise Invalid."""
    values = [v.strip() for v in raw if v.strip()]
    try:
        return [ROW_IDS.validate_python(v) for v in values]
    except ValidationError as exc:
        raise Invalid("证据编号无效。") from exc


@router.post("/assignments/{assignment_id}/submissions")
async def submit_form(
    request: Request,
    assignment_id: RowId,
    form: Annotated[SubmissionForm, Form()],
    caller: CallerDep,
) -> Response:
    """Submit a progress report from the page."""

    async def run() -> object:
        ids = parse_ids(form.evidence_ids)
        return await actions.submit(
            caller,
            assignment_id,
            report=form.report,
            evidence_ids=ids,
            key=form.key,
            actuals=form.actual_values(),
            answers=form.answers(),
        )

    values = {
        "report": form.report,
        "actuals": dict(zip(form.target_ids, form.actuals, strict=False)),
        "answers": form.answers(),
        "evidence_ids": form.evidence_ids,
    }
    return await act(request, caller, assignment_id, run, values)


def parse_due_date(raw: str) -> datetime:
    """Return the end of the given day in Beijing time as UTC, or raise Invalid."""
    try:
        day = datetime.strptime(raw.strip(), "%Y-%m-%d").date()  # noqa: DTZ007 (a date, zone added below)
    except ValueError as exc:
        raise Invalid("请按 年-月-日 格式填写申请的截止日期。") from exc
    return datetime.combine(day, time(23, 59, 59), SHANGHAI).astimezone(UTC)


@router.post("/assignments/{assignment_id}/extensions")
async def extension_form(
    request: Request,
    assignment_id: RowId,
    form: Annotated[ExtensionForm, Form()],
    caller: CallerDep,
) -> Response:
    """Ask for a later due date from the page."""

    async def run() -> object:
        return await actions.request_extension(
            caller,
            assignment_id,
            requested_due_at=parse_due_date(form.requested_due_date),
            reason=form.reason,
            key=form.key,
        )

    values = {"requested_due_date": form.requested_due_date, "reason": form.reason}
    return await act(request, caller, assignment_id, run, values)
