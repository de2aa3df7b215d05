"""Formal papers: stable yearly numbers, and PDFs whose Chinese text can be read back."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from duban.errors import Conflict, NotFound
from duban.services import paper_content
from duban.services.assignment import assignment_detail
from duban.services.paper import (
    PaperKind,
    PaperNo,
    check_reportable,
    paper_number,
    source_key,
    urge_event,
)
from duban.services.paper_pdf import paper_pdf
from tests.workspace import add_event, make_assignment, make_department, make_policy

DEC = datetime(2026, 12, 1, 4, tzinfo=UTC)
# 2026-12-31 17:00 UTC is already 2027-01-01 in Beijing: the paper belongs to 2027.
NEW_YEAR_BEIJING = datetime(2026, 12, 31, 17, tzinfo=UTC)


def _number(
    session: Session,
    kind: PaperKind,
    aid: int,
    at: datetime = DEC,
    event_id: int | None = None,
) -> PaperNo:
    return paper_number(
        session=session,
        kind=kind,
        source_key=source_key(kind, aid, event_id),
        assignment_id=aid,
        user_id=None,
        at=at,
    )


@pytest.fixture
def two(session):
    policy = make_policy(session, items=[{"number": 5, "title": "健全防止返贫动态监测和帮扶机制"}])
    first = make_assignment(
        session, policy=policy, department=make_department(session, "fpb", "省乡村振兴局")
    )
    second = make_assignment(
        session, policy=policy, department=make_department(session, "czt", "省财政厅")
    )
    return first, second


def test_numbers_are_stable_and_run_per_kind_and_year(session, two):
    first, second = two
    a = _number(session, PaperKind.NOTICE, first.id)
    b = _number(session, PaperKind.NOTICE, second.id)
    again = _number(session, PaperKind.NOTICE, first.id, at=datetime(2027, 3, 1, tzinfo=UTC))
    urge = _number(session, PaperKind.URGE, first.id, event_id=7)
    next_year = _number(session, PaperKind.REPORT, first.id, at=NEW_YEAR_BEIJING)
    assert (a.text, b.text, urge.text) == ("督办〔2026〕1号", "督办〔2026〕2号", "催办〔2026〕1号")
    assert again == a  # the same record keeps its number, even printed a year later
    assert next_year.text == "办结〔2027〕1号"


def test_a_taken_serial_is_skipped_not_reused(session, two):
    first, second = two
    _number(session, PaperKind.URGE, first.id, event_id=1)
    _number(session, PaperKind.URGE, first.id, event_id=2)
    third = _number(session, PaperKind.URGE, second.id, event_id=3)
    assert third.serial == 3


def test_urge_paper_needs_an_urge_of_that_assignment(session, two):
    first, second = two
    urged = add_event(session, first, "urged", DEC, message="请于本周五前报送")
    other = add_event(session, first, "acknowledged", DEC)
    assert urge_event(session=session, assignment_id=first.id, event_id=urged.id) is urged
    for aid, eid in ((second.id, urged.id), (first.id, other.id), (first.id, 999_999)):
        with pytest.raises(NotFound):
            urge_event(session=session, assignment_id=aid, event_id=eid)


def test_report_only_for_a_finished_assignment(session, two):
    first, _ = two
    with pytest.raises(Conflict):
        check_reportable(first)
    first.state = "completed"
    check_reportable(first)


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "paper.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True)
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True)
    assert "Noto" in fonts.stdout and " yes " in fonts.stdout  # embedded (a subset)
    return out.stdout


def test_every_paper_reads_back_in_chinese(session, two, tmp_path):
    first, _ = two
    urged = add_event(session, first, "urged", DEC, message="请于本周五前报送工作进展")
    d = assignment_detail(session=session, assignment=first, now=DEC)
    office = "吉林省人民政府督查室"
    notice = paper_content.notice(d, _number(session, PaperKind.NOTICE, first.id), office)
    urge = paper_content.urge(
        d, _number(session, PaperKind.URGE, first.id, event_id=urged.id), office, urged
    )
    report = paper_content.report(d, _number(session, PaperKind.REPORT, first.id), office)
    texts = [_text(paper_pdf(p), tmp_path) for p in (notice, urge, report)]
    for text, title in zip(texts, ("督办通知单", "催办通知单", "办结报告"), strict=True):
        assert office in text and title in text
    assert "督办〔2026〕1号" in texts[0] and "省乡村振兴局" in texts[0]
    assert "健全防止返贫动态监测和帮扶机制" in texts[0]
    assert "请于本周五前报送工作进展" in texts[1] and "催办〔2026〕1号" in texts[1]
    assert "办结〔2026〕1号" in texts[2] and "期次" in texts[2]
