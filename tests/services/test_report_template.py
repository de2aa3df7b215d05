"""Report templates and evidence reuse (issue 15): the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from duban.errors import Forbidden, Invalid, NotFound
from duban.models import AuditEvent, Evidence, ReportTemplate, Submission
from duban.rules import ReportField, ReportSpec
from duban.services.evidence import EvidenceStore, record_evidence
from duban.services.evidence_reuse import reusable_evidence, reuse_evidence
from duban.services.export import ScoreSheet, scores_xlsx
from duban.services.report_template import (
    answer_lines,
    assignment_spec,
    check_report,
    get_template,
    save_template,
    submission_answers,
)
from tests.workspace import make_assignment, make_department, make_policy, make_user

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SPEC = ReportSpec(
    fields=[
        ReportField("villages", "认定脱贫村数量", "number", required=True, unit="个"),
        ReportField("status", "推进情况", "choice", choices=["按期", "滞后"]),
    ],
    evidence_kinds=["pdf"],
)


@pytest.fixture
def store(tmp_path):
    return EvidenceStore(tmp_path / "evidence", max_bytes=1 << 20)


@pytest.fixture
def world(session):
    policy = make_policy(
        session, items=[{"number": 5, "title": "认定脱贫村"}, {"number": 6, "title": "建设"}]
    )
    mine, theirs = make_department(session), make_department(session)
    return {
        "policy": policy,
        "a5": make_assignment(session, policy=policy, department=mine, state="acknowledged"),
        "a6": make_assignment(
            session, policy=policy, department=mine, item_number=6, state="acknowledged"
        ),
        "other": make_assignment(session, policy=policy, department=theirs, item_number=6),
        "staff": make_user(session, "staff", mine),
        "stranger": make_user(session, "staff", theirs),
        "supervisor": make_user(session, "supervisor"),
    }


def test_a_supervisor_sets_a_template_and_it_is_audited(session, world):
    policy, sup = world["policy"], world["supervisor"]
    save_template(session=session, user=sup, policy_id=policy.id, item_number=5, spec=SPEC)
    assert assignment_spec(session=session, assignment=world["a5"]) == SPEC
    assert assignment_spec(session=session, assignment=world["a6"]) is None
    changed = ReportSpec(fields=SPEC.fields[:1])
    save_template(session=session, user=sup, policy_id=policy.id, item_number=5, spec=changed)
    assert session.scalar(select(func.count()).select_from(ReportTemplate)) == 1
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "report_template_set").order_by(AuditEvent.id)
    ).all()
    assert [e.data["fields"] for e in events] == [["villages", "status"], ["villages"]]


def test_bad_templates_and_wrong_people_change_nothing(session, world):
    policy, sup = world["policy"], world["supervisor"]
    huge = ReportSpec(fields=[ReportField(f"f{i}", "x", "text") for i in range(10_000)])
    dupes = ReportSpec(fields=[ReportField("a", "甲", "text"), ReportField("a", "乙", "date")])
    for spec in (huge, dupes, ReportSpec(fields=[ReportField("a", "甲", "money")])):
        with pytest.raises(Invalid):
            save_template(session=session, user=sup, policy_id=policy.id, item_number=5, spec=spec)
    with pytest.raises(Forbidden):
        save_template(
            session=session, user=world["staff"], policy_id=policy.id, item_number=5, spec=SPEC
        )
    with pytest.raises(NotFound):
        save_template(session=session, user=sup, policy_id=policy.id, item_number=99, spec=SPEC)
    assert get_template(session=session, policy_id=policy.id, item_number=5) is None


def test_a_report_is_checked_against_the_template(session, world, store):
    policy, a5 = world["policy"], world["a5"]
    save_template(
        session=session, user=world["supervisor"], policy_id=policy.id, item_number=5, spec=SPEC
    )
    png = record_evidence(
        session=session, store=store, assignment_id=a5.id, user_id=None, actor="x",
        filename="p.png", source=io.BytesIO(PNG),
    )  # fmt: skip
    pdf = record_evidence(
        session=session, store=store, assignment_id=a5.id, user_id=None, actor="x",
        filename="p.pdf", source=io.BytesIO(PDF),
    )  # fmt: skip
    with pytest.raises(Invalid, match="请填写“认定脱贫村数量”"):
        check_report(session=session, assignment=a5, answers={}, evidence_ids=[pdf.id])
    with pytest.raises(Invalid, match="须附上：PDF 文件"):
        check_report(
            session=session, assignment=a5, answers={"villages": "3"}, evidence_ids=[png.id]
        )
    spec, kinds = check_report(
        session=session, assignment=a5, answers={"villages": "3"}, evidence_ids=[png.id, pdf.id]
    )
    assert spec == SPEC and kinds == ["image", "pdf"]
    # A task without a template takes no answers.
    with pytest.raises(Invalid):
        check_report(session=session, assignment=world["a6"], answers={"x": "1"}, evidence_ids=[])


def test_answers_show_with_labels_and_units_in_the_export(session, world):
    policy, a5 = world["policy"], world["a5"]
    save_template(
        session=session, user=world["supervisor"], policy_id=policy.id, item_number=5, spec=SPEC
    )
    at = datetime(2026, 11, 20, 2, tzinfo=UTC)
    sub = Submission(
        key="s1", assignment_id=a5.id, period_index=0, report="进展", submitted_at=at,
        answers={"status": "按期", "villages": "300"},
    )  # fmt: skip
    session.add(sub)
    session.flush()
    assert submission_answers(session=session, submissions=[sub]) == {
        sub.id: [("认定脱贫村数量", "300 个"), ("推进情况", "按期")]
    }
    lines = answer_lines(session=session, period="2026Q4")
    assert [(x.label, x.value) for x in lines] == [
        ("认定脱贫村数量", "300 个"),
        ("推进情况", "按期"),
    ]
    assert answer_lines(session=session, period="2026Q3") == []
    sheet = ScoreSheet("2026Q4", "department", "v1", at, [], {}, answers=lines)
    wb = load_workbook(io.BytesIO(scores_xlsx(sheet)))
    rows = list(wb["报送表单"].iter_rows(values_only=True))
    assert rows[0] == ("单位", "任务", "期次", "报送时间", "项目", "填报内容")
    assert rows[1][1:] == ("第5项", 1, "2026-11-20 10:00", "认定脱贫村数量", "300 个")


def _upload(session, store, assignment, data: bytes, name: str) -> Evidence:
    return record_evidence(
        session=session, store=store, assignment_id=assignment.id, user_id=None, actor="x",
        filename=name, source=io.BytesIO(data),
    )  # fmt: skip


def test_a_department_reuses_its_own_file_without_a_new_blob(session, world, store):
    a5, a6, staff = world["a5"], world["a6"], world["staff"]
    first = _upload(session, store, a5, PDF, "2026年第一季度台账.pdf")
    blobs_before = sorted(p for p in store.root.rglob("*") if p.is_file())
    listed = reusable_evidence(session=session, user=staff, assignment_id=a6.id)
    assert [e.id for e in listed] == [first.id]
    assert reusable_evidence(session=session, user=staff, assignment_id=a6.id, q="台账")
    assert reusable_evidence(session=session, user=staff, assignment_id=a6.id, q="%") == []
    reused = reuse_evidence(session=session, user=staff, assignment_id=a6.id, evidence_id=first.id)
    assert (reused.assignment_id, reused.sha256, reused.filename) == (
        a6.id,
        first.sha256,
        first.filename,
    )
    assert sorted(p for p in store.root.rglob("*") if p.is_file()) == blobs_before
    again = reuse_evidence(session=session, user=staff, assignment_id=a6.id, evidence_id=first.id)
    assert again.id == reused.id
    event = session.scalars(select(AuditEvent).where(AuditEvent.kind == "evidence_reused")).one()
    assert event.assignment_id == a6.id and event.actor_id == staff.id
    assert event.data["source_evidence_id"] == first.id
    assert event.data["source_assignment_id"] == a5.id
    # Once attached it is no longer offered.
    assert reusable_evidence(session=session, user=staff, assignment_id=a6.id) == []


def test_reusable_files_are_each_offered_once_newest_first(session, world, store):
    """The same bytes on two other assignments are offered once (the newer row); a limit cuts
    the newest; a search narrows before the newest row of each file is chosen."""
    a5, a6, staff, policy = world["a5"], world["a6"], world["staff"], world["policy"]
    a7 = make_assignment(
        session, policy=policy, department=a5.department, item_number=7, state="acknowledged"
    )
    old = _upload(session, store, a5, PDF, "台账.pdf")
    png = _upload(session, store, a5, PNG, "照片.png")
    again = _upload(session, store, a7, PDF, "重传.pdf")  # the same bytes as `old`, newer
    listed = reusable_evidence(session=session, user=staff, assignment_id=a6.id)
    assert [e.id for e in listed] == [again.id, png.id]
    assert old.id not in [e.id for e in listed]
    short = reusable_evidence(session=session, user=staff, assignment_id=a6.id, limit=1)
    assert [e.id for e in short] == [again.id]
    found = reusable_evidence(session=session, user=staff, assignment_id=a6.id, q="台账")
    assert [e.id for e in found] == [old.id]
    # Seen from a7, which holds the PDF already: only the picture.
    mine = reusable_evidence(session=session, user=staff, assignment_id=a7.id)
    assert [e.id for e in mine] == [png.id]


def test_other_departments_files_and_forged_ids_attach_nothing(session, world, store):
    a6, staff = world["a6"], world["staff"]
    theirs = _upload(session, store, world["other"], PDF, "他们的.pdf")
    count = session.scalar(select(func.count()).select_from(Evidence))
    assert reusable_evidence(session=session, user=staff, assignment_id=a6.id) == []
    for forged in (theirs.id, theirs.id + 1000, 2**31 - 1):
        with pytest.raises(NotFound):
            reuse_evidence(session=session, user=staff, assignment_id=a6.id, evidence_id=forged)
    # Another department cannot attach to this one, nor may a supervisor act for it.
    mine = _upload(session, store, world["a5"], PNG, "mine.png")
    with pytest.raises(NotFound):
        reuse_evidence(
            session=session, user=world["stranger"], assignment_id=a6.id, evidence_id=mine.id
        )
    with pytest.raises(Forbidden):
        reuse_evidence(
            session=session, user=world["supervisor"], assignment_id=a6.id, evidence_id=mine.id
        )
    assert session.scalar(select(func.count()).select_from(Evidence)) == count + 1
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == "evidence_reused")
        )
        == 0
    )
