"""Security-relevant actions write their audit event in the same transaction, on both databases."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from duban.errors import Forbidden, NotFound
from duban.models import AuditEvent
from duban.services.department_admin import rename_department
from duban.services.evaluation import freeze
from duban.services.evidence import EvidenceStore, evidence_for_download, record_evidence
from tests.workspace import make_assignment, make_department, make_policy, make_user

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def events(session, kind: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.kind == kind)))


def test_a_department_rename_is_audited(session):
    admin = make_user(session, "admin")
    make_department(session, "jl-x", "省某厅")
    rename_department(session=session, code="jl-x", name="省某某厅", actor=admin)
    rename_department(session=session, code="jl-x", name="省某某厅", actor=admin)  # no change
    (event,) = events(session, "department_renamed")
    assert event.actor_id == admin.id
    assert event.data == {"code": "jl-x", "from": "省某厅", "to": "省某某厅"}


def test_freezing_an_evaluation_is_audited_once(session):
    assessor = make_user(session, "assessor")
    as_of = datetime(2026, 12, 31, tzinfo=UTC)
    ev, _ = freeze(session=session, period="2026Q4", by="department", as_of=as_of, user=assessor)
    freeze(session=session, period="2026Q4", by="department", as_of=as_of, user=assessor)
    (event,) = events(session, "evaluation_frozen")
    assert event.actor_id == assessor.id and event.data["evaluation_id"] == ev.id


@pytest.fixture
def evidence(session, tmp_path):
    own = make_department(session, "jl-own", "省本厅")
    assignment = make_assignment(session, policy=make_policy(session), department=own)
    store = EvidenceStore(tmp_path / "evidence", max_bytes=4096)
    row = record_evidence(
        session=session,
        store=store,
        assignment_id=assignment.id,
        user_id=None,
        actor="张三",
        filename="a.pdf",
        source=io.BytesIO(PDF),
    )
    other = make_department(session, "jl-other", "省他厅")
    return {"row": row, "own": own, "other": other}


def test_evidence_is_read_by_the_department_and_supervisors_only(session, evidence):
    row = evidence["row"]
    readers = [make_user(session, "staff", evidence["own"]), make_user(session, "supervisor")]
    for user in readers:
        got = evidence_for_download(
            session=session, user=user, assignment_id=row.assignment_id, evidence_id=row.id
        )
        assert got.id == row.id
    for role in ("assessor", "admin"):
        with pytest.raises(Forbidden):
            evidence_for_download(
                session=session,
                user=make_user(session, role),
                assignment_id=row.assignment_id,
                evidence_id=row.id,
            )
    with pytest.raises(NotFound):
        evidence_for_download(
            session=session,
            user=make_user(session, "head", evidence["other"]),
            assignment_id=row.assignment_id,
            evidence_id=row.id,
        )
    logged = [(e.actor_id, e.data["evidence_id"]) for e in events(session, "evidence_downloaded")]
    assert logged == [(user.id, row.id) for user in readers]
