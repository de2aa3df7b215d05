"""`/api/v1/assessment`: scores, the "why" ledger, the rubric, frozen evaluations and exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from duban.db import utcnow
from duban.domain import UserRole
from duban.errors import Forbidden
from duban.models import Evaluation, RubricVersion, User
from duban.scoring import GroupBy
from duban.services import evaluation as evaluations
from duban.services.assessment import (
    Ledger,
    check_period,
    current_quarter,
    department_by_code,
    department_ledger,
    scores,
    task_titles,
)
from duban.services.export import ScoreSheet, report_pdf, scores_xlsx
from duban.services.timeline import timeline_label
from web.deps import SessionDep, require_roles
from web.schemas import RowId

router = APIRouter(prefix="/api/v1/assessment", tags=["assessment"])
AssessorUser = Annotated[User, Depends(require_roles(UserRole.ASSESSOR))]
DepartmentUser = Annotated[User, Depends(require_roles(UserRole.STAFF, UserRole.HEAD))]
PeriodQuery = Annotated[str | None, Query(max_length=8, description="2026 或 2026Q4；默认本季度")]
ByQuery = Annotated[Literal["department", "official"], Query()]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RubricCreate(BaseModel):
    """A new rubric as TOML text (the format of policies/rubric.toml)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=evaluations.MAX_RUBRIC_CHARS)


class EvaluationCreate(BaseModel):
    """A period to compile and freeze."""

    model_config = ConfigDict(extra="forbid")

    period: str = Field(max_length=8)
    by: Literal["department", "official"] = "department"


def period_or_now(period: str | None) -> str:
    """Return the requested period, validated, or the current quarter."""
    return check_period(period) if period else current_quarter(utcnow())


def ledger_json(ledger: Ledger) -> dict[str, Any]:
    """Return a department's score with every line and the events behind it."""
    row = ledger.row
    lines = []
    for line in row.lines if row else ():
        events = [ledger.events[i] for i in line.event_ids if i in ledger.events]
        lines.append(
            {
                "points": round(line.points, 2),
                "reason": line.reason,
                "rule": line.rule,
                "assignment_id": line.assignment_id,
                "task_number": ledger.task_numbers.get(line.assignment_id),
                "period_index": line.period_index,
                "assignment_url": f"/assignments/{line.assignment_id}",
                "events": [
                    {
                        "id": e.id,
                        "kind": e.kind,
                        "label": timeline_label(e.kind, e.data),
                        "at": e.at,
                    }
                    for e in events
                ],
            }
        )
    return {
        "department": {"code": ledger.department.code, "name": ledger.department.name},
        "period": ledger.period,
        "score": row.score if row else 0.0,
        "rank": row.rank if row else None,
        "of": ledger.rank_of,
        "breakdown": row.to_json()["breakdown"] if row else [],
        "lines": lines,
    }


def rubric_json(row: RubricVersion) -> dict[str, Any]:
    """Return a stored rubric version."""
    return {
        "version": row.version,
        "title": row.title,
        "fingerprint": row.fingerprint,
        "source": row.source,
        "created_by": row.created_by_label,
        "created_at": row.created_at,
    }


def evaluation_json(ev: Evaluation, *, rows: bool = True) -> dict[str, Any]:
    """Return a frozen evaluation (its rows in the score-row shape, lines included)."""
    out: dict[str, Any] = {
        "id": ev.id,
        "period": ev.period,
        "by": ev.by,
        "digest": ev.digest,
        "rubric_version": ev.rubric_version,
        "as_of": ev.as_of,
        "audit_chain": {"seq": ev.chain_seq, "hash": ev.chain_hash},
        "created_by": ev.created_by_label,
        "created_at": ev.created_at,
    }
    if rows:
        out["rows"] = ev.rows
    return out


@router.get("/scores")
def read_scores(
    _: AssessorUser, session: SessionDep, period: PeriodQuery = None, by: ByQuery = "department"
) -> list[dict[str, Any]]:
    """Return the ranked scores of a period per department or per official."""
    rubric = evaluations.current_rubric(session=session)
    rows = scores(
        session=session, rubric=rubric, period=period_or_now(period), by=by, as_of=utcnow()
    )
    return [row.to_json() for row in rows]


@router.get("/departments/{code}/ledger")
def read_ledger(
    code: str, _: AssessorUser, session: SessionDep, period: PeriodQuery = None
) -> dict[str, Any]:
    """Explain a department's score: every line, its reason and the events it came from."""
    dept = department_by_code(session=session, code=code)
    rubric = evaluations.current_rubric(session=session)
    return ledger_json(
        department_ledger(
            session=session,
            rubric=rubric,
            department=dept,
            period=period_or_now(period),
            as_of=utcnow(),
        )
    )


@router.get("/my-score")
def read_my_score(
    user: DepartmentUser, session: SessionDep, period: PeriodQuery = None
) -> dict[str, Any]:
    """Return the own department's score and its reasons (never another department's)."""
    if user.department is None:
        raise Forbidden("账号未关联单位")
    rubric = evaluations.current_rubric(session=session)
    return ledger_json(
        department_ledger(
            session=session,
            rubric=rubric,
            department=user.department,
            period=period_or_now(period),
            as_of=utcnow(),
        )
    )


@router.get("/rubric")
def read_rubric(_: AssessorUser, session: SessionDep) -> dict[str, Any]:
    """Return the rubric in force."""
    return rubric_json(evaluations.current_rubric_row(session=session))


@router.get("/rubrics")
def read_rubric_history(_: AssessorUser, session: SessionDep) -> list[dict[str, Any]]:
    """Return every stored rubric version, newest first."""
    return [rubric_json(r) for r in evaluations.rubric_history(session=session)]


@router.post("/rubric", status_code=201)
def create_rubric(body: RubricCreate, user: AssessorUser, session: SessionDep) -> Response:
    """Store a new rubric version (422 when invalid; 200 when the same text is already stored)."""
    row, created = evaluations.save_rubric(session=session, source=body.source, user=user)
    data = rubric_json(row) | {"created_at": row.created_at.isoformat()}
    return JSONResponse(data, status_code=201 if created else 200)


@router.post("/evaluations", status_code=201)
def create_evaluation(body: EvaluationCreate, user: AssessorUser, session: SessionDep) -> Response:
    """Compile a period now and freeze it (200 with the existing one when nothing changed)."""
    ev, created = evaluations.freeze(
        session=session, period=body.period, by=body.by, as_of=utcnow(), user=user
    )
    data = evaluation_json(ev, rows=False)
    data |= {"as_of": ev.as_of.isoformat(), "created_at": ev.created_at.isoformat()}
    return JSONResponse(data, status_code=201 if created else 200)


@router.get("/evaluations")
def read_evaluations(
    _: AssessorUser, session: SessionDep, period: PeriodQuery = None
) -> list[dict[str, Any]]:
    """List frozen evaluations, newest first."""
    return [
        evaluation_json(e, rows=False)
        for e in evaluations.list_evaluations(session=session, period=period)
    ]


@router.get("/evaluations/{evaluation_id}")
def read_evaluation(evaluation_id: RowId, _: AssessorUser, session: SessionDep) -> dict[str, Any]:
    """Return one frozen evaluation with its rows."""
    return evaluation_json(evaluations.get_evaluation(session=session, evaluation_id=evaluation_id))


@router.get("/evaluations/{evaluation_id}/compare")
def compare_evaluation(
    evaluation_id: RowId, _: AssessorUser, session: SessionDep
) -> dict[str, Any]:
    """Recompute the evaluation's period now with the rubric in force: matches, or the differences."""
    cmp = evaluations.compare(session=session, evaluation_id=evaluation_id, as_of=utcnow())
    return {
        "evaluation_id": evaluation_id,
        "matches": cmp.matches,
        "frozen_digest": cmp.evaluation.digest,
        "digest": cmp.digest,
        "rubric_version": cmp.rubric_version,
        "frozen_rubric_version": cmp.evaluation.rubric_version,
        "as_of": cmp.as_of,
        "differences": [
            {
                "key": d.key,
                "name": d.name,
                "frozen": {"score": d.frozen_score, "rank": d.frozen_rank},
                "now": {"score": d.score, "rank": d.rank},
            }
            for d in cmp.differences
        ],
    }


def score_sheet(session: SessionDep, period: str | None, by: GroupBy) -> ScoreSheet:
    """Compile the sheet an export shows."""
    rubric = evaluations.current_rubric(session=session)
    label, as_of = period_or_now(period), utcnow()
    rows = scores(session=session, rubric=rubric, period=label, by=by, as_of=as_of)
    titles = task_titles(session=session, rows=rows)
    return ScoreSheet(label, by, rubric.version, as_of, rows, titles)


def _download(body: bytes, media_type: str, name: str) -> Response:
    """Return a file download."""
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/export.xlsx")
def export_xlsx(
    _: AssessorUser, session: SessionDep, period: PeriodQuery = None, by: ByQuery = "department"
) -> Response:
    """Download the scores as xlsx: a summary row per department, a sheet per rule, the ledger."""
    sheet = score_sheet(session, period, by)
    return _download(scores_xlsx(sheet), XLSX, f"duban-scores-{sheet.period}.xlsx")


@router.get("/report.pdf")
def export_pdf(
    _: AssessorUser, session: SessionDep, period: PeriodQuery = None, by: ByQuery = "department"
) -> Response:
    """Download the PDF report with the ranking chart."""
    sheet = score_sheet(session, period, by)
    return _download(report_pdf(sheet), "application/pdf", f"duban-report-{sheet.period}.pdf")
