"""Assessment pages on the real app: ranking, why-this-score, own score, rubric editor, evaluations."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from activities.read_model import ReadModelActivities
from duban.domain import UserRole
from duban.messages import BeginInput, PeriodSpec
from policies.rubric import DEFAULT_PATH
from tests.db import BACKENDS
from tests.services.test_assessment import new_assignment
from tests.web.conftest import LoginAs
from tests.web.test_assessment_api import Seeded, seeded
from tests.workspace import make_policy

__all__ = ["seeded"]
Q = {"period": "2026Q4"}
HX = {"HX-Request": "true"}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The assessment pages and API are measured on PostgreSQL: test them on both databases."""
    return str(request.param)


def texts(html: str) -> str:
    """Return the page text without tags, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_ranking_page_and_its_fragment(seeded: Seeded, login_as: LoginAs):
    me = await login_as(UserRole.ASSESSOR)
    page = await me.client.get("/assessment", params=Q)
    assert page.status_code == 200
    body = texts(page.text)
    assert body.index("省dA厅") < body.index("省dB厅")
    assert 'href="/assessment/departments/dB?period=2026Q4"' in page.text
    assert "/api/v1/assessment/export.xlsx?period=2026Q4" in page.text
    assert 'href="/assessment"' in page.text  # the nav shows the area
    fragment = await me.client.get("/assessment", params=Q, headers=HX)
    assert "<html" not in fragment.text and "省dB厅" in fragment.text
    assert "HX-Request" in fragment.headers["vary"]


async def test_why_page_links_lines_to_the_timeline(seeded: Seeded, login_as: LoginAs):
    me = await login_as(UserRole.ASSESSOR)
    page = await me.client.get("/assessment/departments/dB", params=Q)
    assert page.status_code == 200
    body = texts(page.text)
    assert "督办升级至第2级（督查室）" in body and "逾期预警（二级：督查室）" in body
    assert f'href="/assignments/{seeded.b_id}#event-' in page.text
    assert "1.5" in body and "/ 2" in body


async def test_department_sees_its_own_score_page_only(seeded: Seeded, login_as: LoginAs):
    staff = await login_as(UserRole.STAFF, department="dA")
    page = await staff.client.get("/assessment/mine", params=Q)
    assert page.status_code == 200
    assert "本单位考核得分" in page.text and "省dA厅" in page.text and "省dB厅" not in page.text
    assert 'href="/assessment/mine"' in page.text
    for path in ("/assessment", "/assessment/departments/dB", "/assessment/rubric"):
        denied = await staff.client.get(path, params=Q, headers={"accept": "text/html"})
        assert denied.status_code == 403, path


async def test_anonymous_is_sent_to_sign_in(client: httpx.AsyncClient):
    r = await client.get("/assessment")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_rubric_editor_refuses_a_bad_rubric_then_saves(seeded: Seeded, login_as: LoginAs):
    me = await login_as(UserRole.ASSESSOR)
    page = await me.client.get("/assessment/rubric")
    assert "现行版本 2026-11-28" in page.text
    bad = await me.client.post(
        "/assessment/rubric", data={"csrf_token": me.csrf, "source": "version = 'x'"}
    )
    assert bad.status_code == 422 and "评分细则有误" in bad.text
    assert "现行版本 2026-11-28" in bad.text
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace("2026-11-28", "2026-12-09")
    ok = await me.client.post("/assessment/rubric", data={"csrf_token": me.csrf, "source": text})
    assert ok.status_code == 303 and ok.headers["location"] == "/assessment/rubric?saved=2026-12-09"
    after = await me.client.get(ok.headers["location"])
    assert "现行版本 2026-12-09" in after.text and "已保存评分细则 2026-12-09" in after.text


async def test_freeze_from_the_page_and_compare(seeded: Seeded, login_as: LoginAs):
    me = await login_as(UserRole.ASSESSOR)
    r = await me.client.post(
        "/assessment/evaluations",
        data={"csrf_token": me.csrf, "period": "2026Q4", "by": "department"},
    )
    assert r.status_code == 303
    page = await me.client.get(r.headers["location"])
    assert page.status_code == 200 and "一致：重新计算的结果与存档完全相同" in page.text
    listing = await me.client.get("/assessment/evaluations")
    assert r.headers["location"] in listing.text
    bad = await me.client.post(
        "/assessment/evaluations", data={"csrf_token": me.csrf, "period": "Q4", "by": "department"}
    )
    assert bad.status_code == 422 and "考核周期格式" in bad.text


async def test_score_lines_name_the_task_by_its_title(seeded: Seeded, login_as: LoginAs):
    me = await login_as(UserRole.ASSESSOR)
    page = await me.client.get("/assessment/departments/dB", params=Q)
    assert f'href="/assignments/{seeded.b_id}">（5）保持主要帮扶政策总体稳定</a>' in page.text


async def test_nothing_scored_yet_shows_no_score_and_no_rank(login_as: LoginAs, db):
    """Only historic periods (past at import, not scored): no "0, rank 1 / 2" but 尚未计分."""
    q = {"period": "2026Q3"}
    acts = ReadModelActivities(db)
    with db.begin() as s:
        policy = make_policy(s)
        pair = [new_assignment(s, policy, code) for code in ("dC", "dD")]
    for x in pair:
        spec = PeriodSpec(0, datetime(2026, 8, 1, tzinfo=UTC), "历史", "deadline", historic=True)
        acts.begin(BeginInput(x.id, [spec]))
    staff = await login_as(UserRole.STAFF, department="dC")
    body = texts((await staff.client.get("/assessment/mine", params=q)).text)
    assert "尚未计分" in body and "/ 2" not in body
    me = await login_as(UserRole.ASSESSOR)
    ranking = texts((await me.client.get("/assessment", params=q)).text)
    assert "尚未计分" in ranking and "省dC厅" not in ranking
