"""Evidence reuse (issue 15): attach a file the department already uploaded, without uploading it again.

The store is content-addressed, so a reused file is a new index row (this assignment, the same
SHA-256) pointing at the bytes already stored; nothing is copied.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

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
    # Newest first, each file once (its newest row): a row counts unless a newer row of the
    # department has the same bytes, or this assignment has them already. Walking the index
    # backwards and stopping at `limit` keeps this a few rows per department, not all of them.
    # The newer row's owner is the plain table: the ORM's criteria on Assignment would refer
    # to the outer query from inside the subquery and turn the anti-join into a per-row plan.
    newer, here = aliased(Evidence), aliased(Evidence)
    newer_owner = Assignment.__table__.alias("newer_owner")
    text = q.strip()[:QUERY_MAX_CHARS]

    def theirs(e: Any, owner: Any) -> list[ColumnElement[bool]]:
        where = [
            owner.department_id == assignment.department_id,
            e.assignment_id != assignment.id,
        ]
        if text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(e.filename.ilike(f"%{escaped}%", escape="\\"))
        return where

    shadowed = (
        select(newer.id)
        .join(newer_owner, newer_owner.c.id == newer.assignment_id)
        .where(newer.sha256 == Evidence.sha256, newer.id > Evidence.id)
        .where(newer_owner.c.pending_start.is_(False), *theirs(newer, newer_owner.c))
    )
    present = select(here.id).where(
        here.assignment_id == assignment.id, here.sha256 == Evidence.sha256
    )
    stmt = (
        select(Evidence)
        .join(Assignment, Assignment.id == Evidence.assignment_id)
        .where(*theirs(Evidence, Assignment), ~exists(shadowed), ~exists(present))
        .order_by(Evidence.id.desc())
        .limit(limit)
    )
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
