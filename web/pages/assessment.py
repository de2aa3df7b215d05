"""Assessment office pages: scores and ranking, the "why" ledger, the rubric editor, evaluations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from duban.db import utcnow
from duban.domain import UserRole
from duban.errors import Conflict, Forbidden, Invalid
from duban.models import User
from duban.scoring import RULE_LABELS, GroupBy
from duban.services import evaluation as evaluations
from duban.services import score_table
from duban.services.assessment import department_by_code
from duban.services.paging import CURSOR_MAX_CHARS
from duban.services.timeline import timeline_label
from web.api.assessment import period_or_now
from web.deps import SessionDep, require_roles
from web.rendering import render
from web.schemas import FormModel, RowId

router = APIRouter(include_in_schema=False)
AssessorUser = Annotated[User, Depends(require_roles(UserRole.ASSESSOR))]
DepartmentUser = Annotated[User, Depends(require_roles(UserRole.STAFF, UserRole.HEAD))]
PeriodQuery = Annotated[str, Query(max_length=8)]
# The ledger's next window: the cursor its "more" link carries.
AfterQuery = Annotated[str, Query(max_length=CURSOR_MAX_CHARS, pattern=r"^[A-Za-z0-9_-]*$")]
BY_NAMES = {"department": "按单位", "official": "按责任人"}


class RubricForm(FormModel):
    """The rubric's TOML text as edited in the page."""

    source: str = ""


class EvaluationForm(FormModel):
    """The period (and grouping) to freeze."""

    period: str = ""
    by: GroupBy = "department"


def _by(value: str) -> GroupBy:
    """Return a valid grouping (department unless official)."""
    return "official" if value == "official" else "department"


@router.get("/assessment")
def scores_page(
    request: Request, _: AssessorUser, session: SessionDep, period: PeriodQuery = "", by: str = ""
) -> Response:
    """Show the ranked scores of a period with their breakdown, exports and freezing."""
    label, group = period_or_now(period or None), _by(by)
    rubric = evaluations.current_rubric(session=session)
    rows = score_table.ranking(session=session, rubric=rubric, period=label, by=group, now=utcnow())
    ctx = {
        "rows": rows,
        "scored": any(row.breakdown for row in rows),
        "period": label,
        "by": group,
        "by_names": BY_NAMES,
        "rules": RULE_LABELS,
        "rubric": rubric,
        "totals": [{t.rule: t.points for t in row.breakdown} for row in rows],
    }
    return render(request, "assessment/scores.html", ctx, block="scores")


def _ledger_page(
    request: Request,
    session: Session,
    code: str | None,
    user: User,
    period: str,
    mine: bool,
    after: str | None,
) -> Response:
    """Render the "why this score" page of one department."""
    dept = user.department if mine else department_by_code(session=session, code=code or "")
    if dept is None:
        raise Forbidden("账号未关联单位")
    rubric = evaluations.current_rubric(session=session)
    ledger = score_table.ledger(
        session=session,
        rubric=rubric,
        department=dept,
        period=period_or_now(period or None),
        now=utcnow(),
        cursor=after or None,
    )
    ctx = {
        "ledger": ledger,
        "rubric": rubric,
        "mine": mine,
        "rules": RULE_LABELS,
        "label": timeline_label,
    }
    return render(request, "assessment/ledger.html", ctx, block="ledger")


@router.get("/assessment/departments/{code}")
def ledger_page(
    request: Request,
    code: str,
    user: AssessorUser,
    session: SessionDep,
    period: PeriodQuery = "",
    after: AfterQuery = "",
) -> Response:
    """Explain a department's score down to the recorded events, a window of lines at a time."""
    return _ledger_page(request, session, code, user, period, mine=False, after=after)


@router.get("/assessment/mine")
def my_score_page(
    request: Request,
    user: DepartmentUser,
    session: SessionDep,
    period: PeriodQuery = "",
    after: AfterQuery = "",
) -> Response:
    """Show the own department's score and its reasons."""
    return _ledger_page(request, session, None, user, period, mine=True, after=after)


def _rubric_context(session: Session, **extra: Any) -> dict[str, Any]:
    """Return what the rubric page needs."""
    current = evaluations.current_rubric_row(session=session)
    ctx: dict[str, Any] = {
        "current": current,
        "history": evaluations.rubric_history(session=session),
        "source": current.source,
        "error": None,
        "saved": None,
    }
    ctx.update(extra)
    return ctx


@router.get("/assessment/rubric")
def rubric_page(
    request: Request, _: AssessorUser, session: SessionDep, saved: str = ""
) -> Response:
    """Show the rubric in force, its editor and every stored version."""
    return render(request, "assessment/rubric.html", _rubric_context(session, saved=saved or None))


@router.post("/assessment/rubric")
def save_rubric_page(
    request: Request, form: Annotated[RubricForm, Form()], user: AssessorUser, session: SessionDep
) -> Response:
    """Store an edited rubric as a new version, or show why it was refused (422)."""
    try:
        row, _ = evaluations.save_rubric(session=session, source=form.source, user=user)
    except (Invalid, Conflict) as exc:
        ctx = _rubric_context(session, source=form.source, error=exc.message)
        return render(request, "assessment/rubric.html", ctx, status_code=422)
    return RedirectResponse(f"/assessment/rubric?saved={row.version}", status_code=303)


@router.get("/assessment/evaluations")
def evaluations_page(
    request: Request, _: AssessorUser, session: SessionDep, error: str = ""
) -> Response:
    """List frozen evaluations and offer to freeze a period."""
    ctx = {
        "evaluations": evaluations.list_evaluations(session=session),
        "period": period_or_now(None),
        "by_names": BY_NAMES,
        "error": None,
    }
    return render(request, "assessment/evaluations.html", ctx)


@router.post("/assessment/evaluations")
def freeze_page(
    request: Request,
    form: Annotated[EvaluationForm, Form()],
    user: AssessorUser,
    session: SessionDep,
) -> Response:
    """Freeze a period and show it."""
    try:
        ev, _ = evaluations.freeze(
            session=session, period=form.period, by=form.by, as_of=utcnow(), user=user
        )
    except Invalid as exc:
        ctx = {
            "evaluations": evaluations.list_evaluations(session=session),
            "period": form.period,
            "by_names": BY_NAMES,
            "error": exc.message,
        }
        return render(request, "assessment/evaluations.html", ctx, status_code=422)
    return RedirectResponse(f"/assessment/evaluations/{ev.id}", status_code=303)


@router.get("/assessment/evaluations/{evaluation_id}")
def evaluation_page(
    request: Request, evaluation_id: RowId, _: AssessorUser, session: SessionDep
) -> Response:
    """Show a frozen evaluation beside a recomputation now: matches, or the differences."""
    cmp = evaluations.compare(session=session, evaluation_id=evaluation_id, as_of=utcnow())
    ctx = {"ev": cmp.evaluation, "cmp": cmp, "by_names": BY_NAMES}
    return render(request, "assessment/evaluation.html", ctx)
