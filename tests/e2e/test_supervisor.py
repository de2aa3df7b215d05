"""Supervisor console end to end in Debian's chromium, against real workflows and a real SMTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from cli.jobs import run_digest
from duban.db import utcnow
from duban.models import Escalation
from duban.services.user import create_user
from duban.settings import Settings
from tests.e2e.stack import (
    FAST_LADDER,
    PASSWORD,
    Live,
    api_headers,
    live_stack,
    wait_until,
)
from tests.e2e.stack import signed_in as signed_in_at
from tests.smtp import smtp_server
from tests.workspace import make_assignment, make_department, make_policy

pytestmark = pytest.mark.e2e
RESULTS = Path("test-results")
SUPERVISOR_MAIL = "wangdu@duchashi.gov.cn"


def _users(s: Any) -> None:
    create_user(
        session=s,
        username="wangdu",
        password=PASSWORD,
        role="supervisor",
        display_name="王督查",
        email=SUPERVISOR_MAIL,
    )
    create_user(
        session=s,
        username="lisi",
        password=PASSWORD,
        role="staff",
        department_code="fpb",
        display_name="李四",
    )


def _seed(s: Session, settings: Settings) -> tuple[list[int], str | None, dict[str, Any]]:
    policy = make_policy(
        s,
        items=[
            {"number": 5, "title": "保持主要帮扶政策总体稳定"},
            {"number": 6, "title": "健全防止返贫动态监测和帮扶机制"},
        ],
    )
    fpb, czt = make_department(s, "fpb", "省扶贫办"), make_department(s, "czt", "省财政厅")
    review = make_assignment(s, policy=policy, department=fpb, periods=0)
    ladder = make_assignment(s, policy=policy, department=czt, item_number=6, periods=0)
    _users(s)
    return [review.id, ladder.id], policy.key, {"review": review.id, "ladder": ladder.id}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A live stack whose ladder climbs in seconds (DUBAN_ESCALATION_OFFSETS=FAST_LADDER)."""
    tmp = tmp_path_factory.mktemp("supervisor")
    with live_stack(tmp, "supervisor", _seed, escalation_offsets=FAST_LADDER) as stack:
        yield stack


def signed_in(browser: Browser, base: str, username: str) -> Page:
    """Return a page of a fresh browser context signed in as `username`, 1440 wide."""
    return signed_in_at(browser, base, username, {"width": 1440, "height": 900})


def report(page: Page, base: str, aid: int, text: str, state: str) -> None:
    """Submit a progress report on the assignment page as the department."""
    page.goto(f"{base}/assignments/{aid}")
    page.get_by_label("进展情况").fill(text)
    page.get_by_role("button", name="报送", exact=True).click()
    expect(page.locator("#state")).to_have_text(state, timeout=15_000)


def acknowledge(page: Page, base: str, aid: int) -> None:
    """签收 the assignment on its page (a report needs it first)."""
    page.goto(f"{base}/assignments/{aid}")
    page.get_by_role("button", name="签收", exact=True).click()
    expect(page.locator("#state")).to_have_text("已签收", timeout=15_000)


def test_return_resubmit_approve(browser: Browser, live: Live) -> None:
    RESULTS.mkdir(exist_ok=True)
    base, aid = live.url, live.extra["review"]
    staff, sup = signed_in(browser, base, "lisi"), signed_in(browser, base, "wangdu")
    acknowledge(staff, base, aid)
    report(staff, base, aid, "已完成第一季度政策落实情况自查。", "已报送待审核")

    sup.goto(f"{base}/reviews")
    item = sup.get_by_role("article", name="（5）保持主要帮扶政策总体稳定 · 省扶贫办")
    expect(item).to_contain_text("已完成第一季度政策落实情况自查。")
    item.get_by_label("退回理由").fill("请补充资金拨付凭证和现场照片。")
    item.get_by_role("button", name="退回").click()
    expect(sup.get_by_role("status")).to_contain_text("已退回")
    expect(sup.get_by_text("暂无待审核的报送。")).to_be_visible()

    staff.goto(f"{base}/assignments/{aid}")
    expect(staff.locator("#state")).to_have_text("退回整改")
    expect(staff.locator("body")).to_contain_text("请补充资金拨付凭证和现场照片。")
    report(staff, base, aid, "已补充资金拨付凭证和现场照片。", "已报送待审核")

    sup.goto(f"{base}/reviews")
    item = sup.get_by_role("article", name="（5）保持主要帮扶政策总体稳定 · 省扶贫办")
    expect(item).to_contain_text("已补充资金拨付凭证和现场照片。")
    sup.screenshot(path=str(RESULTS / "supervisor-review-queue.png"), full_page=True)
    item.get_by_label("评分").select_option("4")
    item.get_by_role("button", name="通过").click()
    expect(sup.get_by_role("status")).to_contain_text("已审核通过")
    staff.goto(f"{base}/assignments/{aid}")
    expect(staff.locator("#timeline")).to_contain_text("退回整改")
    expect(staff.locator("#timeline")).to_contain_text("审核通过")


def _level(factory: Any, aid: int) -> int:
    with factory() as s:
        levels = s.scalars(select(Escalation.level).where(Escalation.assignment_id == aid)).all()
    return max(levels, default=0)


def test_overdue_climbs_the_ladder_and_the_digest_arrives(browser: Browser, live: Live) -> None:
    base, aid, factory = live.url, live.extra["ladder"], live.factory
    due = (utcnow() + timedelta(seconds=4)).isoformat()
    moved = httpx.post(
        f"{base}/api/v1/assignments/{aid}/due",
        json={"due_at": due, "reason": "演练：临近期限"},
        headers=api_headers(base, "wangdu"),
    )
    assert moved.status_code == 200, moved.text
    wait_until(lambda: _level(factory, aid) == 3, within=60, what="ladder level 3")

    sup = signed_in(browser, base, "wangdu")
    sup.goto(f"{base}/escalations?level=3")
    expect(sup.get_by_role("heading", name="领导督办视图")).to_be_visible()
    expect(sup.get_by_role("link", name="（6）健全防止返贫动态监测和帮扶机制")).to_be_visible()
    sup.screenshot(path=str(RESULTS / "supervisor-escalations-leaders.png"), full_page=True)
    sup.goto(f"{base}/board?light=red")
    row = sup.locator("table.board-table tbody tr").first
    expect(row).to_contain_text("省财政厅")
    expect(row).to_contain_text("3 级")
    row.get_by_role("button", name="催办").click()
    expect(row).to_contain_text("已催办")

    with smtp_server() as (inbox, smtp_url):
        settings = live.settings.model_copy(update={"smtp_url": smtp_url})
        with ThreadPoolExecutor(1) as pool:
            sent = pool.submit(asyncio.run, run_digest(settings, factory)).result(timeout=60)
    assert sent >= 1
    [mail] = inbox.to(SUPERVISOR_MAIL)
    text = mail.get_content()
    assert "王督查" in text and "【3级督办】" in text and "【2级督办】" in text


def test_staff_cannot_reach_the_console(browser: Browser, live: Live) -> None:
    base = live.url
    staff = signed_in(browser, base, "lisi")
    expect(staff.get_by_role("link", name="逾期看板")).to_have_count(0)
    expect(staff.get_by_role("link", name="领导驾驶舱")).to_have_count(0)
    for path in ("/board", "/reviews", "/escalations?level=3", "/cockpit"):
        response = staff.goto(f"{base}{path}")
        assert response is not None and response.status == 403, path
        expect(staff.get_by_text("您没有权限执行此操作")).to_be_visible()
