"""Assessment API on the real app: scores, ledger, my-score, rubric, evaluations, exports, access."""

from __future__ import annotations

import io
from dataclasses import dataclass

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from activities.read_model import ReadModelActivities
from cli.jobs import refresh_scores
from duban.domain import UserRole
from duban.models import AuditEvent, RubricVersion
from duban.services import score_table
from policies.rubric import DEFAULT_PATH
from tests.db import BACKENDS
from tests.services.test_assessment import DUE, Recorder, new_assignment, play_b
from tests.web.conftest import LoginAs
from tests.workspace import make_policy

DAY = DUE - DUE.replace(day=DUE.day - 1)
Q = {"period": "2026Q4"}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The assessment pages and API are measured on PostgreSQL: test them on both databases."""
    return str(request.param)


@dataclass
class Seeded:
    """Two departments' recorded first periods: dA on time, dB escalated."""

    a_id: int
    b_id: int


@pytest.fixture
def seeded(db: sessionmaker[Session]) -> Seeded:
    """Record both periods through the real read-model activity."""
    rec = Recorder(ReadModelActivities(db))
    with db.begin() as s:
        policy = make_policy(s)
        a, b = new_assignment(s, policy, "dA"), new_assignment(s, policy, "dB")
    for x in (a, b):
        rec.periods(x, [DUE])
    rec.submit(a, 0, DUE - 5 * DAY, "a-s1")
    rec.review(a, 0, DUE - 4 * DAY, "a-s1", 5)
    rec.close(a, 0, DUE - 4 * DAY, 5, True)
    play_b(rec, b)
    return Seeded(a.id, b.id)


def audit_count(db: sessionmaker[Session]) -> int | None:
    """Return how many audit events are recorded."""
    with db() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent))


async def assessor(login_as: LoginAs) -> tuple[httpx.AsyncClient, dict[str, str]]:
    """Return an assessor's client and CSRF header."""
    me = await login_as(UserRole.ASSESSOR)
    return me.client, {"x-csrftoken": me.csrf}


async def test_scores_rank_the_on_time_department_first(seeded: Seeded, login_as: LoginAs):
    c, _ = await assessor(login_as)
    r = await c.get("/api/v1/assessment/scores", params=Q)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(x["department"], x["score"], x["rank"]) for x in body] == [
        ({"code": "dA", "name": "省dA厅"}, 12.0, 1),
        ({"code": "dB", "name": "省dB厅"}, 1.5, 2),
    ]
    assert {b["rule"] for b in body[1]["breakdown"]} >= {"escalation", "lateness", "return"}
    officials = (await c.get("/api/v1/assessment/scores", params=Q | {"by": "official"})).json()
    assert [x["official"]["username"] for x in officials] == ["head-dA", "head-dB"]


async def test_ledger_drills_down_to_events(seeded: Seeded, login_as: LoginAs):
    c, _ = await assessor(login_as)
    r = await c.get("/api/v1/assessment/departments/dB/ledger", params=Q)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["score"], body["rank"], body["of"]) == (1.5, 2, 2)
    ladder = [line for line in body["lines"] if line["rule"] == "escalation"]
    # each rung's line cites its own event (since 48ce2e6), not the whole ladder
    assert len(ladder) == 2
    assert [[e["kind"] for e in line["events"]] for line in ladder] == [
        ["escalation_l1"],
        ["escalation_l2"],
    ]
    assert ladder[0]["assignment_url"] == f"/assignments/{seeded.b_id}"
    missing = await c.get("/api/v1/assessment/departments/nope/ledger", params=Q)
    assert missing.status_code == 404


async def test_scores_answer_503_while_too_much_waits_for_the_job(
    seeded: Seeded,
    login_as: LoginAs,
    db: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
):
    # Two assignments wait (never built); a page may rebuild one: the page and the API answer
    # 503 + Retry-After at once, and the job's refresh (no bound) then serves them.
    monkeypatch.setattr(score_table, "REQUEST_MOST", 1)
    c, _ = await assessor(login_as)
    for path in ("/api/v1/assessment/scores", "/api/v1/assessment/departments/dB/ledger"):
        r = await c.get(path, params=Q)
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) > 0 and "评分表正在更新" in r.json()["detail"]
    page = await c.get("/assessment", params=Q)
    assert page.status_code == 503 and "评分表正在更新" in page.text
    assert refresh_scores(db) == 2
    assert (await c.get("/api/v1/assessment/scores", params=Q)).status_code == 200


async def test_department_sees_only_its_own_score(seeded: Seeded, login_as: LoginAs):
    head = await login_as(UserRole.HEAD, department="dB")
    r = await head.client.get("/api/v1/assessment/my-score", params=Q)
    assert r.status_code == 200, r.text
    assert (r.json()["department"]["code"], r.json()["score"]) == ("dB", 1.5)
    for path in ("/scores", "/departments/dA/ledger", "/export.xlsx", "/rubric"):
        denied = await head.client.get("/api/v1/assessment" + path, params=Q)
        assert denied.status_code == 403, path


async def test_access_is_for_assessors(
    seeded: Seeded, login_as: LoginAs, client: httpx.AsyncClient
):
    assert (await client.get("/api/v1/assessment/scores", params=Q)).status_code == 401
    assert (await client.get("/api/v1/assessment/my-score")).status_code == 401
    for role in (UserRole.SUPERVISOR, UserRole.ADMIN):
        other = await login_as(role)
        assert (await other.client.get("/api/v1/assessment/scores", params=Q)).status_code == 403
        assert (await other.client.get("/api/v1/assessment/my-score")).status_code == 403
    c, _ = await assessor(login_as)
    assert (
        await c.get("/api/v1/assessment/scores", params={"period": "2026Q9"})
    ).status_code == 422


async def test_rubric_update_validates_and_recomputes(
    seeded: Seeded, login_as: LoginAs, db: sessionmaker[Session]
):
    c, h = await assessor(login_as)
    before = audit_count(db)
    bad = await c.post("/api/v1/assessment/rubric", json={"source": "version = 1"}, headers=h)
    assert bad.status_code == 422 and "评分细则有误" in bad.json()["detail"]
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace("2026-11-28", "2026-12-05")
    ok = await c.post(
        "/api/v1/assessment/rubric",
        json={"source": text.replace("points = 10.0", "points = 20.0")},
        headers=h,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["version"] == "2026-12-05"
    scores = (await c.get("/api/v1/assessment/scores", params=Q)).json()
    assert [x["score"] for x in scores] == [22.0, 11.5]
    with db() as s:
        assert s.scalar(select(func.count()).select_from(RubricVersion)) == 2
    assert audit_count(db) == before
    history = (await c.get("/api/v1/assessment/rubrics")).json()
    assert [v["version"] for v in history] == ["2026-12-05", "2026-11-28"]


async def test_freeze_and_compare(seeded: Seeded, login_as: LoginAs):
    c, h = await assessor(login_as)
    r = await c.post("/api/v1/assessment/evaluations", json={"period": "2026Q4"}, headers=h)
    assert r.status_code == 201, r.text
    ev = r.json()
    again = await c.post("/api/v1/assessment/evaluations", json={"period": "2026Q4"}, headers=h)
    assert again.status_code == 200 and again.json()["id"] == ev["id"]
    full = (await c.get(f"/api/v1/assessment/evaluations/{ev['id']}")).json()
    assert [row["department"]["code"] for row in full["rows"]] == ["dA", "dB"]
    assert all(row["lines"] for row in full["rows"])
    cmp = (await c.get(f"/api/v1/assessment/evaluations/{ev['id']}/compare")).json()
    assert cmp["matches"] is True and cmp["differences"] == []
    assert (await c.get("/api/v1/assessment/evaluations/999999/compare")).status_code == 404


async def test_exports(seeded: Seeded, login_as: LoginAs):
    c, _ = await assessor(login_as)
    x = await c.get("/api/v1/assessment/export.xlsx", params=Q)
    assert x.status_code == 200 and "attachment" in x.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(x.content))
    assert [r[1] for r in wb["汇总"].iter_rows(min_row=2, values_only=True)] == ["dA", "dB"]
    assert wb["督办升级"].max_row == 3
    ledger = list(wb["明细"].iter_rows(min_row=2, values_only=True))
    assert {r[2] for r in ledger} == {"（5）保持主要帮扶政策总体稳定"}  # the task, not its id
    p = await c.get("/api/v1/assessment/report.pdf", params=Q)
    assert p.status_code == 200 and p.content.startswith(b"%PDF")
    assert p.headers["content-type"] == "application/pdf"


async def test_ledger_pages_by_keyset(db: sessionmaker[Session], login_as: LoginAs):
    """Three scored periods of one department, one at a time: `next` in the body and the Link
    header, the same lines as in one answer, and the page's 后续明细 link."""
    rec = Recorder(ReadModelActivities(db))
    with db.begin() as s:
        policy = make_policy(s)
        a = new_assignment(s, policy, "dP")
    rec.periods(a, [DUE, DUE + 7 * DAY, DUE + 14 * DAY])
    for idx in range(3):
        rec.submit(a, idx, DUE + idx * 7 * DAY, f"p-s{idx}")
        rec.review(a, idx, DUE + idx * 7 * DAY, f"p-s{idx}", 4)
        rec.close(a, idx, DUE + idx * 7 * DAY, 4, True)
    c, _ = await assessor(login_as)
    url = "/api/v1/assessment/departments/dP/ledger"
    whole = (await c.get(url, params=Q)).json()
    seen: list[dict[str, object]] = []
    params: dict[str, str | int] = Q | {"limit": 1}
    for _ in range(3):
        r = await c.get(url, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert {line["period_index"] for line in body["lines"]} == {len(seen) // 2}
        seen += body["lines"]
        if body["next"] is None:
            assert "Link" not in r.headers
            break
        assert r.headers["X-Next-Cursor"] == body["next"]
        params = Q | {"limit": 1, "cursor": body["next"]}
    assert seen == whole["lines"] and len(seen) == 6
    assert (body["score"], body["rank"]) == (whole["score"], whole["rank"])
    bad = await c.get(url, params=Q | {"cursor": "WyJ4Il0"})
    assert bad.status_code == 422
    page = await c.get("/assessment/departments/dP", params=Q)
    assert page.status_code == 200 and "后续明细" not in page.text
