"""What the assignment page shows of the task's report template and of reusable evidence (issue 15)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from duban.domain import DEPARTMENT_ROLES, UserRole
from duban.models import Assignment, Submission, User
from duban.rules import EVIDENCE_KINDS, FIELD_TYPES, action_flags
from duban.services.evidence_reuse import reusable_evidence
from duban.services.report_template import assignment_spec, shown_answers, submission_answers

REUSE_PREVIEW = 10


def template_url(policy_id: int, item_number: int) -> str:
    """Return the address of a task's report template page."""
    return f"/policies/{policy_id}/tasks/{item_number}/report-template"


def report_context(
    session: Session, user: User, assignment: Assignment, submissions: list[Submission]
) -> dict[str, Any]:
    """Return the task's report template, the answers of its reports and the reusable files."""
    owner = user.role in DEPARTMENT_ROLES
    may_reuse = owner and action_flags(assignment.state).can_upload
    reusable = (
        reusable_evidence(
            session=session, user=user, assignment_id=assignment.id, limit=REUSE_PREVIEW + 1
        )
        if may_reuse
        else []
    )
    spec = assignment_spec(session=session, assignment=assignment)
    return {
        "report_spec": spec,
        "timeline_answers": lambda answers: shown_answers(spec, answers),
        "template_url": template_url(assignment.policy_id, assignment.item_number),
        "evidence_kinds": EVIDENCE_KINDS,
        "field_types": FIELD_TYPES,
        "answers_by_submission": submission_answers(session=session, submissions=submissions),
        "reusable": reusable[:REUSE_PREVIEW],
        "reusable_more": len(reusable) > REUSE_PREVIEW,
        "may_reuse": may_reuse,
        "may_edit_template": user.role == UserRole.SUPERVISOR,
    }
