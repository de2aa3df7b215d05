"""Screenshots of the supervisor console over a realistic read model (the Jilin document's tasks)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from duban.db import make_engine, make_session_factory, utcnow
from duban.models import AssignmentPeriod, Escalation, Submission
from duban.services.user import create_user
from duban.settings import Settings
from tests.db import sqlite_url
from tests.e2e.stack import LiveStack, second_step
from tests.workspace import make_assignment, make_department, make_policy

pytestmark = pytest.mark.e2e
RESULTS = Path("test-results")
PASSWORD = "correct-horse-1"
GOLDEN = (
    Path(__file__).parents[1]
    / "policies"
    / "golden"
    / "jilin-2021-consolidation-revitalization.json"
)
QUARTER_ENDS = [(2025, 12, 31), (2026, 3, 31), (2026, 6, 30), (2026, 9, 30)]


def _history(s: Session, assignment_id: int, pattern: int) -> None:
    """Four closed or overdue quarterly periods with a pattern of on-time and late outcomes."""
    for index, (y, m, d) in enumerate(QUARTER_ENDS):
        due = datetime(y, m, d, 15, 59, tzinfo=UTC)
        closed = (pattern + index) % 7 != 0
        on_time = closed and ((pattern * 3 + index) % 5 not in (0, 1) or index < pattern % 2)
        s.add(
            AssignmentPeriod(
                assignment_id=assignment_id,
                index=index,
                due_at=due,
                original_due_at=due,
                label=f"{y}年第{(m - 1) // 3 + 1}季度",
                state="approved" if closed else "open",
                closed_at=due + timedelta(days=0 if on_time else 9) if closed else None,
                on_time=on_time if closed else None,
                rating=4 if closed else None,
            )
        )


def _state(k: int, now: datetime) -> dict[str, Any]:
    if k in (0, 1):
        return {"due_at": now - timedelta(days=4 + 9 * k), "escalation_level": 1 + k}
    if k == 2:
        return {"due_at": now + timedelta(days=3)}
    if k == 3:
        return {"due_at": now + timedelta(days=10), "state": "submitted"}
    return {"due_at": now + timedelta(days=33), "state": "in_progress"}


def seed_showcase(s: Session) -> str:
    """Add the Jilin document's tasks and units with varied, plausible progress."""
    doc = json.loads(GOLDEN.read_text(encoding="utf-8"))
    sections = {sec["number"]: sec["title"] for sec in doc["sections"]}
    tasks = [it for it in doc["items"] if it["units"]][:18]
    items = [
        {
            "number": it["number"],
            "title": it["title"],
            "section": it["section"],
            "section_title": sections[it["section"]],
        }
        for it in tasks
    ]
    policy = make_policy(s, items=items, key="jilin-2021")
    policy.title = doc["title"]
    departments: dict[str, Any] = {}
    now = utcnow()
    for it in tasks:
        for n, unit in enumerate(it["units"][:4]):
            name = unit["name"]
            if name not in departments:
                departments[name] = make_department(s, f"d{len(departments) + 1:02d}", name)
            k = (it["number"] * 7 + n * 3 + len(name)) % 9
            a = make_assignment(
                s,
                policy=policy,
                department=departments[name],
                item_number=it["number"],
                role="lead" if n == 0 else "co",
                periods=0,
                **_state(k, now),
            )
            a.period_index = 4
            _history(s, a.id, it["number"] + n)
            if k == 1:
                s.add(
                    Escalation(
                        assignment_id=a.id,
                        period_index=4,
                        level=2,
                        reached_at=now - timedelta(days=2),
                    )
                )
            if k == 3:
                s.add(
                    Submission(
                        key=f"show-{a.id}",
                        assignment_id=a.id,
                        period_index=4,
                        report="本季度工作已按期推进，相关材料见附件。",
                    )
                )
    return policy.key


@pytest.fixture(scope="module")
def showcase(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The live stack over the showcase read model (no workflows are needed to look at it)."""
    tmp = tmp_path_factory.mktemp("showcase")
    url = sqlite_url(tmp)
    settings = Settings(
        data_dir=tmp / "data", database_url=url, secret_key="e2e-show", task_queue="e2e-show"
    )
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory.begin() as s:
        seed_showcase(s)
        create_user(
            session=s,
            username="wangdu",
            password=PASSWORD,
            role="supervisor",
            display_name="王督查",
        )
        empty = make_policy(s, items=[{"number": 1, "title": "占位"}], key="empty")
        key = empty.key
    live = LiveStack(settings, factory, key)
    live.start()
    try:
        live.started([])
        yield {"url": live.base_url}
    finally:
        live.stop()
        engine.dispose()


def sign_in(page: Page, base: str, username: str) -> None:
    """Sign in through the form."""
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    second_step(page, username)


def test_board_and_cockpit_screenshots(page: Page, showcase: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    base = showcase["url"]
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, base, "wangdu")
    page.goto(f"{base}/board")
    expect(page.get_by_role("heading", name="逾期督办台")).to_be_visible()
    expect(page.locator("table.board-table tbody tr").first).to_have_class("row-red")
    page.screenshot(path=str(RESULTS / "supervisor-board.png"), full_page=True)
    page.get_by_role("link", name="单位 × 任务热力图").click()
    expect(page.locator("table.heat")).to_be_visible()
    page.screenshot(path=str(RESULTS / "supervisor-board-heat.png"), full_page=True)
    page.get_by_role("link", name="按责任单位").click()
    expect(page.locator(".group-card").first).to_be_visible()
    page.screenshot(path=str(RESULTS / "supervisor-board-departments.png"), full_page=True)
    page.goto(f"{base}/cockpit")
    expect(page.get_by_role("heading", name="领导驾驶舱")).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(3)
    page.screenshot(path=str(RESULTS / "supervisor-cockpit.png"), full_page=True)
    page.locator("svg.chart a").first.click()
    expect(page).to_have_url(f"{base}/board?" + page.url.split("?", 1)[1])
    expect(page.get_by_role("heading", name="逾期督办台")).to_be_visible()
    page.goto(f"{base}/reviews")
    expect(page.get_by_role("heading", name="待审核报送")).to_be_visible()
    page.screenshot(path=str(RESULTS / "supervisor-reviews.png"), full_page=True)
