"""Formal papers over HTTP: supervisors only, PDFs with Chinese text, stable numbers, clear 4xx."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from duban.db import utcnow
from duban.domain import UserRole
from tests.workspace import add_event, make_assignment, make_department, make_policy


def _world(db: sessionmaker[Session]) -> tuple[int, int, int]:
    with db.begin() as s:
        policy = make_policy(s, items=[{"number": 5, "title": "健全防止返贫动态监测和帮扶机制"}])
        dept = make_department(s, "fpb", "省乡村振兴局")
        a = make_assignment(s, policy=policy, department=dept)
        done = make_assignment(s, policy=policy, department=make_department(s), state="completed")
        urged = add_event(s, a, "urged", utcnow(), message="请于本周五前报送")
        return a.id, done.id, urged.id


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "p.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


async def test_supervisor_gets_numbered_papers(app, db, login_as, tmp_path):
    app.state.settings.office_name = "吉林省人民政府督查室"
    aid, done, urged = _world(db)
    sup = await login_as(UserRole.SUPERVISOR)
    notice = await sup.client.get(f"/assignments/{aid}/papers/notice.pdf")
    assert notice.status_code == 200, notice.text
    assert notice.headers["content-type"] == "application/pdf"
    assert "sandbox" in notice.headers["content-security-policy"]
    year = utcnow().year
    text = _text(notice.content, tmp_path)
    assert "吉林省人民政府督查室" in text and "督办通知单" in text and f"督办〔{year}〕1号" in text
    again = await sup.client.get(f"/assignments/{aid}/papers/notice.pdf")
    assert f"督办〔{year}〕1号" in _text(again.content, tmp_path)
    urge = await sup.client.get(f"/assignments/{aid}/papers/urge/{urged}.pdf")
    assert "请于本周五前报送" in _text(urge.content, tmp_path)
    report = await sup.client.get(f"/assignments/{done}/papers/report.pdf")
    assert f"办结〔{year}〕1号" in _text(report.content, tmp_path)


async def test_papers_refuse_clearly(db, login_as):
    aid, _done, urged = _world(db)
    sup = await login_as(UserRole.SUPERVISOR)
    staff = await login_as(UserRole.STAFF, "fpb")
    assert (await staff.client.get(f"/assignments/{aid}/papers/notice.pdf")).status_code == 403
    assert (await sup.client.get(f"/assignments/{aid}/papers/report.pdf")).status_code == 409
    assert (await sup.client.get(f"/assignments/{aid}/papers/urge/999999.pdf")).status_code == 404
    assert (
        await sup.client.get(f"/assignments/{aid + 99}/papers/urge/{urged}.pdf")
    ).status_code == 404
    assert (await sup.client.get("/assignments/x/papers/notice.pdf")).status_code == 422
    assert (await sup.client.get(f"/assignments/{aid}/papers/urge/-1.pdf")).status_code == 422
