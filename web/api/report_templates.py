"""`/api/v1/policies/{id}/tasks/{number}/report-template` and reusable evidence: the JSON twins (issue 15)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from duban.services.evidence_reuse import QUERY_MAX_CHARS, reusable_evidence, reuse_evidence
from duban.services.report_template import get_template, save_template, spec_from_data, task_item
from web.deps import CurrentUser, SessionDep
from web.openapi import error_responses
from web.schemas import RowId
from web.schemas.assignments import EvidenceCreated, EvidenceRead
from web.schemas.report_templates import EvidenceReuse, ReportTemplateRead, ReportTemplateWrite
from web.schemas.supervision import SupervisorUser

router = APIRouter(prefix="/api/v1", tags=["report templates"])
TEMPLATE_PATH = "/policies/{policy_id}/tasks/{item_number}/report-template"


@router.get(TEMPLATE_PATH, response_model=ReportTemplateRead)
def read_template(
    policy_id: RowId, item_number: RowId, user: CurrentUser, session: SessionDep
) -> ReportTemplateRead:
    """Return what each period's report of the task must hold (empty when nothing is set)."""
    task_item(session=session, policy_id=policy_id, item_number=item_number)
    template = get_template(session=session, policy_id=policy_id, item_number=item_number)
    return ReportTemplateRead.of(template, policy_id=policy_id, item_number=item_number)


@router.put(TEMPLATE_PATH, response_model=ReportTemplateRead, responses=error_responses(422))
def put_template(
    policy_id: RowId,
    item_number: RowId,
    body: ReportTemplateWrite,
    user: SupervisorUser,
    session: SessionDep,
) -> ReportTemplateRead:
    """Set the task's report template (supervisors): fields, and kinds of evidence required."""
    spec = spec_from_data([f.model_dump() for f in body.fields], list(body.evidence_kinds))
    template = save_template(
        session=session, user=user, policy_id=policy_id, item_number=item_number, spec=spec
    )
    return ReportTemplateRead.of(template, policy_id=policy_id, item_number=item_number)


@router.get("/assignments/{assignment_id}/reusable-evidence", response_model=list[EvidenceRead])
def list_reusable(
    assignment_id: RowId,
    user: CurrentUser,
    session: SessionDep,
    q: Annotated[str, Query(max_length=QUERY_MAX_CHARS)] = "",
) -> list[EvidenceRead]:
    """List the department's files on its other assignments that this one has not got (`q`: name)."""
    rows = reusable_evidence(session=session, user=user, assignment_id=assignment_id, q=q)
    return [EvidenceRead.model_validate(e) for e in rows]


@router.post(
    "/assignments/{assignment_id}/reusable-evidence",
    response_model=EvidenceCreated,
    status_code=201,
)
def attach_reused(
    assignment_id: RowId, body: EvidenceReuse, user: CurrentUser, session: SessionDep
) -> EvidenceCreated:
    """Attach an earlier file of the department without uploading it again (same SHA-256)."""
    evidence = reuse_evidence(
        session=session, user=user, assignment_id=assignment_id, evidence_id=body.evidence_id
    )
    return EvidenceCreated.of(evidence)
