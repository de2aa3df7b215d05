"""`/api/v1/assessment`: scores, the "why" ledger, the rubric, frozen evaluations and exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import JSONResponse, Response

from duban.db import utcnow
from duban.domain import UserRole
from duban.errors import Forbidden
from duban.models import Department, User
from duban.scoring import GroupBy
from duban.services import evaluation as evaluations
from duban.services import score_table
from duban.services.assessment import (
    check_period,
    current_quarter,
    department_by_code,
    scored_assignments,
    scores,
    task_titles,
)
from duban.services.audit import chain_head
from duban.services.export import ScoreSheet, report_pdf, scores_xlsx
from duban.services.report_template import answer_lines
from duban.services.target import target_export_rows
from web.deps import SessionDep, require_roles
from web.openapi import error_responses
from web.paging import PAGED_RESPONSES, CursorParams, ledger_cursor_params
from web.schemas import RowId
from web.schemas.assessment import (
    XLSX,
    ComparisonRead,
    EvaluationCreate,
    EvaluationDetailRead,
    EvaluationRead,
    LedgerRead,
    PeriodQuery,
    RubricCreate,
    RubricRead,
    ScoreRowRead,
)

router = APIRouter(prefix="/api/v1/assessment", tags=["assessment"])
AssessorUser = Annotated[User, Depends(require_roles(UserRole.ASSESSOR))]
DepartmentUser = Annotated[User, Depends(require_roles(UserRole.STAFF, UserRole.HEAD))]
ByQuery = Annotated[Literal["department", "official"], Query()]
LedgerCursorDep = Annotated[CursorParams, Depends(ledger_cursor_params)]
# 404 when no rubric is stored yet (or the department does not exist).
NOT_FOUND = error_responses(404)
Responses = dict[int | str, dict[str, Any]]
SAME_RUBRIC: Responses = {200: {"model": RubricRead, "description": "This text is already stored"}}
SAME_EVALUATION: Responses = {
    200: {"model": EvaluationRead, "description": "Nothing changed: the one already frozen"}
}


def period_or_now(period: str | None) -> str:
    """Return the requested period, validated, or the current quarter."""
    return check_period(period) if period else current_quarter(utcnow())


def _file(media_type: str, what: str) -> Responses:
    """Document a download: its media type and a binary body, not JSON."""
    content = {media_type: {"schema": {"type": "string", "format": "binary"}}}
    return {200: {"content": content, "description": what}} | NOT_FOUND


@router.get(
    "/scores",
    response_model=list[ScoreRowRead],
    response_model_exclude_unset=True,
    responses=NOT_FOUND,
)
def read_scores(
    _: AssessorUser, session: SessionDep, period: PeriodQuery = None, by: ByQuery = "department"
) -> list[ScoreRowRead]:
    """Return the ranked scores of a period per department or per official."""
    rubric = evaluations.current_rubric(session=session)
    label = period_or_now(period)
    rows = score_table.ranking(session=session, rubric=rubric, period=label, by=by, now=utcnow())
    return [ScoreRowRead.model_validate(row.to_json()) for row in rows]


def _ledger(
    request: Request,
    response: Response,
    session: SessionDep,
    department: Department,
    period: str | None,
    paging: CursorParams,
) -> LedgerRead:
    """One window of a department's ledger; the next one named in Link and X-Next-Cursor."""
    ledger = score_table.ledger(
        session=session,
        rubric=evaluations.current_rubric(session=session),
        department=department,
        period=period_or_now(period),
        now=utcnow(),
        cursor=paging.cursor,
        limit=paging.limit,
    )
    if ledger.next is not None:
        url = request.url.include_query_params(cursor=ledger.next, limit=paging.limit)
        response.headers["Link"] = f'<{url}>; rel="next"'
        response.headers["X-Next-Cursor"] = ledger.next
    return LedgerRead.of_ledger(ledger)


@router.get(
    "/departments/{code}/ledger",
    response_model=LedgerRead,
    responses=PAGED_RESPONSES | NOT_FOUND,
)
def read_ledger(
    request: Request,
    response: Response,
    code: str,
    _: AssessorUser,
    session: SessionDep,
    paging: LedgerCursorDep,
    period: PeriodQuery = None,
) -> LedgerRead:
    """Explain a department's score: its total, rank and breakdown, and a window of `limit`
    lines (whole periods), each with its reason and the events it came from."""
    dept = department_by_code(session=session, code=code)
    return _ledger(request, response, session, dept, period, paging)


@router.get("/my-score", response_model=LedgerRead, responses=PAGED_RESPONSES | NOT_FOUND)
def read_my_score(
    request: Request,
    response: Response,
    user: DepartmentUser,
    session: SessionDep,
    paging: LedgerCursorDep,
    period: PeriodQuery = None,
) -> LedgerRead:
    """Return the own department's score and its reasons (never another department's)."""
    if user.department is None:
        raise Forbidden("账号未关联单位")
    return _ledger(request, response, session, user.department, period, paging)


@router.get("/rubric", response_model=RubricRead, responses=NOT_FOUND)
def read_rubric(_: AssessorUser, session: SessionDep) -> RubricRead:
    """Return the rubric in force."""
    return RubricRead.of(evaluations.current_rubric_row(session=session))


@router.get("/rubrics", response_model=list[RubricRead])
def read_rubric_history(_: AssessorUser, session: SessionDep) -> list[RubricRead]:
    """Return every stored rubric version, newest first."""
    return [RubricRead.of(r) for r in evaluations.rubric_history(session=session)]


@router.post(
    "/rubric",
    status_code=201,
    response_model=RubricRead,
    responses=SAME_RUBRIC | error_responses(409),
)
def create_rubric(body: RubricCreate, user: AssessorUser, session: SessionDep) -> Response:
    """Store a new rubric version (422 when invalid; 200 when the same text is already stored)."""
    row, created = evaluations.save_rubric(session=session, source=body.source, user=user)
    data = RubricRead.of(row).model_dump(mode="json")
    return JSONResponse(data, status_code=201 if created else 200)


@router.post(
    "/evaluations",
    status_code=201,
    response_model=EvaluationRead,
    responses=SAME_EVALUATION | NOT_FOUND,
)
def create_evaluation(body: EvaluationCreate, user: AssessorUser, session: SessionDep) -> Response:
    """Compile a period now and freeze it (200 with the existing one when nothing changed)."""
    ev, created = evaluations.freeze(
        session=session, period=body.period, by=body.by, as_of=utcnow(), user=user
    )
    data = EvaluationRead.of(ev).model_dump(mode="json")
    return JSONResponse(data, status_code=201 if created else 200)


@router.get("/evaluations", response_model=list[EvaluationRead])
def read_evaluations(
    _: AssessorUser, session: SessionDep, period: PeriodQuery = None
) -> list[EvaluationRead]:
    """List frozen evaluations, newest first."""
    rows = evaluations.list_evaluations(session=session, period=period)
    return [EvaluationRead.of(e) for e in rows]


@router.get(
    "/evaluations/{evaluation_id}",
    response_model=EvaluationDetailRead,
    response_model_exclude_unset=True,
)
def read_evaluation(
    evaluation_id: RowId, _: AssessorUser, session: SessionDep
) -> EvaluationDetailRead:
    """Return one frozen evaluation with its rows."""
    ev = evaluations.get_evaluation(session=session, evaluation_id=evaluation_id)
    return EvaluationDetailRead.of(ev)


@router.get("/evaluations/{evaluation_id}/compare", response_model=ComparisonRead)
def compare_evaluation(
    evaluation_id: RowId, _: AssessorUser, session: SessionDep
) -> ComparisonRead:
    """Recompute the evaluation's period now with the rubric in force: matches, or the differences."""
    cmp = evaluations.compare(session=session, evaluation_id=evaluation_id, as_of=utcnow())
    return ComparisonRead.of(cmp)


def score_sheet(session: SessionDep, period: str | None, by: GroupBy) -> ScoreSheet:
    """Compile the sheet an export shows."""
    rubric = evaluations.current_rubric(session=session)
    label, as_of = period_or_now(period), utcnow()
    chain = chain_head(session=session)  # read first: the scores cover at least these events
    rows = scores(session=session, rubric=rubric, period=label, by=by, as_of=as_of)
    titles = task_titles(session=session, rows=rows)
    targets = target_export_rows(
        session=session,
        assignments=scored_assignments(session=session, rows=rows),
        titles=titles,
        today=as_of.date(),
    )
    answers = answer_lines(session=session, period=label)
    return ScoreSheet(label, by, rubric.version, as_of, rows, titles, targets, answers, chain)


def _download(body: bytes, media_type: str, name: str) -> Response:
    """Return a file download."""
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/export.xlsx",
    response_class=Response,
    responses=_file(XLSX, "The scores as an Excel workbook"),
)
def export_xlsx(
    _: AssessorUser, session: SessionDep, period: PeriodQuery = None, by: ByQuery = "department"
) -> Response:
    """Download the scores as xlsx: a summary row per department, a sheet per rule, the ledger."""
    sheet = score_sheet(session, period, by)
    return _download(scores_xlsx(sheet), XLSX, f"duban-scores-{sheet.period}.xlsx")


@router.get(
    "/report.pdf",
    response_class=Response,
    responses=_file("application/pdf", "The PDF report with the ranking chart"),
)
def export_pdf(
    _: AssessorUser, session: SessionDep, period: PeriodQuery = None, by: ByQuery = "department"
) -> Response:
    """Download the PDF report with the ranking chart."""
    sheet = score_sheet(session, period, by)
    return _download(report_pdf(sheet), "application/pdf", f"duban-report-{sheet.period}.pdf")
