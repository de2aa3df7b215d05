"""Evidence reuse (issue 15): attach a file the department already uploaded, without uploading it again.

The store is content-addressed, so a reused file is a new index row (this assignment, the same
SHA-256) pointing at the bytes already stored; nothing is copied.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from duban.errors import NotFound
from duban.models import Assignment, Evidence, User
from duban.services.assignment import owned_assignment
from duban.services.audit import record_event
from duban.services.evidence import check_open_for_evidence

REUSABLE_LIMIT = 50
QUERY_MAX_CHARS = 100


def reusable_evidence(
    *, session: Session, user: User, assignment_id: int, q: str = "", limit: int = REUSABLE_LIMIT
) -> list[Evidence]:
    """Return the department's files on its other assignments, not yet on this one, newest first."""
    assignment = owned_assignment(session=session, assignment_id=assignment_id, user=user)
    here = select(Evidence.sha256).where(Evidence.assignment_id == assignment.id)
    newest = (
        select(func.max(Evidence.id))
        .join(Assignment, Evidence.assignment_id == Assignment.id)
        .where(
            Assignment.department_id == assignment.department_id,
            Evidence.assignment_id != assignment.id,
            Evidence.sha256.not_in(here),
        )
        .group_by(Evidence.sha256)
    )
    if q := q.strip()[:QUERY_MAX_CHARS]:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        newest = newest.where(Evidence.filename.ilike(f"%{escaped}%", escape="\\"))
    stmt = select(Evidence).where(Evidence.id.in_(newest)).order_by(Evidence.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def _source(session: Session, assignment: Assignment, evidence_id: int) -> Evidence:
    """Return a file of the same department's assignments, or raise NotFound (never says whose)."""
    source = session.get(Evidence, evidence_id)
    owner = session.get(Assignment, source.assignment_id) if source is not None else None
    if source is None or owner is None or owner.department_id != assignment.department_id:
        raise NotFound("证据文件不存在。")
    return source


def reuse_evidence(
    *, session: Session, user: User, assignment_id: int, evidence_id: int
) -> Evidence:
    """Attach one of the department's earlier files to this assignment; a repeat returns the same row.

    Refused (409 `assignment_closed`) once the assignment is closed, as an upload is.
    """
    assignment = owned_assignment(session=session, assignment_id=assignment_id, user=user)
    check_open_for_evidence(assignment)
    source = _source(session, assignment, evidence_id)
    stmt = select(Evidence).where(
        Evidence.assignment_id == assignment.id, Evidence.sha256 == source.sha256
    )
    if (existing := session.scalars(stmt).one_or_none()) is not None:
        return existing
    evidence = Evidence(
        assignment_id=assignment.id,
        sha256=source.sha256,
        size=source.size,
        filename=source.filename,
        content_type=source.content_type,
        uploaded_by_id=user.id,
    )
    try:
        with session.begin_nested():
            session.add(evidence)
            session.flush()
    except IntegrityError:
        # The same file reached this assignment at the same moment (an upload or a reuse).
        return session.scalars(stmt).one()
    data = {
        "evidence_id": evidence.id,
        "filename": evidence.filename,
        "sha256": evidence.sha256,
        "size": evidence.size,
        "source_evidence_id": source.id,
        "source_assignment_id": source.assignment_id,
    }
    record_event(
        session=session, kind="evidence_reused", actor=user, data=data, assignment_id=assignment.id
    )
    return evidence
