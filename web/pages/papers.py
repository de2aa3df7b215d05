"""Formal papers of an assignment as PDF, for supervisors: 督办通知单, 催办通知单, 办结报告."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter
from sqlalchemy.orm import Session
from starlette.responses import Response

from duban.db import utcnow
from duban.models import User
from duban.services import paper_content
from duban.services.assignment import AssignmentDetail, assignment_detail, visible_assignment
from duban.services.paper import (
    PaperKind,
    PaperNo,
    check_reportable,
    paper_number,
    source_key,
    urge_event,
)
from duban.services.paper_pdf import PaperContent, paper_pdf
from web.deps import SessionDep, SettingsDep
from web.schemas import RowId
from web.schemas.supervision import SupervisorUser

router = APIRouter(include_in_schema=False)


def _detail(session: Session, user: User, assignment_id: int) -> AssignmentDetail:
    assignment = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    return assignment_detail(session=session, assignment=assignment, now=utcnow())


def _number(
    session: Session, user: User, kind: PaperKind, assignment_id: int, event_id: int | None = None
) -> PaperNo:
    return paper_number(
        session=session,
        kind=kind,
        source_key=source_key(kind, assignment_id, event_id),
        assignment_id=assignment_id,
        user_id=user.id,
        at=utcnow(),
    )


def pdf_response(paper: PaperContent) -> Response:
    """Return the PDF shown in the browser's viewer, named after the paper and its number."""
    name = f"{paper.title}-{paper.number}.pdf"
    headers = {
        "Content-Disposition": f"inline; filename=\"paper.pdf\"; filename*=UTF-8''{quote(name)}",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
    }
    return Response(paper_pdf(paper), media_type="application/pdf", headers=headers)


@router.get("/assignments/{assignment_id}/papers/notice.pdf")
def notice_pdf(
    assignment_id: RowId, user: SupervisorUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """督办通知单 of the assignment; numbered the first time, the same number ever after."""
    d = _detail(session, user, assignment_id)
    number = _number(session, user, PaperKind.NOTICE, assignment_id)
    return pdf_response(paper_content.notice(d, number, settings.office_name))


@router.get("/assignments/{assignment_id}/papers/urge/{event_id}.pdf")
def urge_pdf(
    assignment_id: RowId,
    event_id: RowId,
    user: SupervisorUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """催办通知单 of one recorded 催办."""
    d = _detail(session, user, assignment_id)
    event = urge_event(session=session, assignment_id=assignment_id, event_id=event_id)
    number = _number(session, user, PaperKind.URGE, assignment_id, event.id)
    return pdf_response(paper_content.urge(d, number, settings.office_name, event))


@router.get("/assignments/{assignment_id}/papers/report.pdf")
def report_pdf(
    assignment_id: RowId, user: SupervisorUser, session: SessionDep, settings: SettingsDep
) -> Response:
    """办结报告 of a finished assignment (409 before it is finished)."""
    d = _detail(session, user, assignment_id)
    check_reportable(d.assignment)
    number = _number(session, user, PaperKind.REPORT, assignment_id)
    return pdf_response(paper_content.report(d, number, settings.office_name))
