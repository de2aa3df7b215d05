"""Named people in the browser (issue 16's "done when"): the head hands a task to a colleague,
who reports from a 390×844 phone; the head signs off; the supervisor asks in the conversation,
gets an answer and approves. A 交办件 runs late for real: the workflow's timers climb the ladder
(seconds apart on this stack) to level 3, which reaches the leader of the department, who
writes a 批示 from a phone. Screenshots in test-results/people-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.db import utcnow
from duban.models import Assignment, LeaderDepartment
from duban.services.user import create_user
from duban.settings import Settings
from tests.e2e.stack import (
    DESKTOP,
    FAST_LADDER,
    PASSWORD,
    PHONE,
    Live,
    api_headers,
    fits_phone,
    live_stack,
    signed_in,
    wait_until,
)
from tests.workspace import make_assignment, make_department, make_policy
from web.i18n import SHANGHAI

pytestmark = pytest.mark.e2e
RESULTS = Path("test-results")
ADHOC_TITLE = "落实省政府常务会议关于防止规模性返贫的决定"


def _seed(s: Session, settings: Settings) -> tuple[list[int], str | None, dict[str, Any]]:
    """A policy that asks for head sign-off with one task, four people, a leader of the unit."""
    policy = make_policy(s, items=[{"number": 5, "title": "保持主要帮扶政策总体稳定"}])
    policy.head_sign_off = True
    dept = make_department(s, "xczx", "省乡村振兴测试局")
    task = make_assignment(s, policy=policy, department=dept, periods=0)
    people = [
        ("lichu", "head", "xczx", "李处长"),
        ("ouyang", "staff", "xczx", "欧阳晓明"),
        ("wangdu", "supervisor", None, "王督查"),
        ("zhangld", "leader", None, "张副省长"),
    ]
    for username, role, code, name in people:
        user = create_user(
            session=s,
            username=username,
            password=PASSWORD,
            role=role,
            department_code=code,
            display_name=name,
        )
        if role == "leader":
            s.add(LeaderDepartment(user_id=user.id, department_id=dept.id))
    return [task.id], policy.key, {}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The seeded live stack, its ladder in seconds (DUBAN_ESCALATION_OFFSETS)."""
    tmp = tmp_path_factory.mktemp("people")
    with live_stack(tmp, "people", _seed, escalation_offsets=FAST_LADDER) as stack:
        yield stack


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(RESULTS / f"people-{name}.png"), full_page=True)


def test_named_colleague_reports_head_signs_off_supervisor_asks_and_approves(
    browser: Browser, live: Live
) -> None:
    RESULTS.mkdir(exist_ok=True)
    base, aid = live.url, live.ids[0]
    task_url = f"{base}/assignments/{aid}"

    head = signed_in(browser, base, "lichu", DESKTOP)
    head.goto(task_url)
    head.get_by_label("指定承办人").select_option(label="欧阳晓明（承办人）")
    head.get_by_role("button", name="交办").click()
    expect(head.locator("#assignee")).to_contain_text("欧阳晓明")
    _shot(head, "1-head-hands-over")

    staff = signed_in(browser, base, "ouyang", PHONE)
    staff.goto(f"{base}/assignments")
    first = staff.locator("table.inbox tbody tr").first
    expect(first).to_contain_text("保持主要帮扶政策总体稳定")  # handed to them: first
    staff.goto(task_url)
    expect(staff.locator("#assignee")).to_contain_text("我承办")
    staff.get_by_role("button", name="签收").click()
    expect(staff.locator("#report")).to_be_visible()
    staff.locator("#report").fill("已完成政策梳理，正在逐项落实。")
    staff.get_by_role("button", name="报送", exact=True).click()
    expect(staff.locator("#sign-off")).to_contain_text("等待本单位责任人审核")
    fits_phone(staff)
    _shot(staff, "2-staff-phone-reported")

    head.goto(task_url)
    expect(head.locator("#sign-off")).to_contain_text("已完成政策梳理")
    head.get_by_role("button", name="同意报送督查室").click()
    expect(head.locator("#state")).to_have_text("已报送待审核")
    _shot(head, "3-head-signed-off")

    sup = signed_in(browser, base, "wangdu", DESKTOP)
    sup.goto(task_url)
    sup.locator("#message-body").fill("@ouyang 请说明“逐项落实”的进度。")
    sup.get_by_role("button", name="发送").click()
    expect(sup.locator("#conversation")).to_contain_text("逐项落实”的进度")

    staff.goto(task_url)
    expect(staff.locator("#conversation")).to_contain_text("王督查")
    staff.locator("#message-body").fill("12 项中已落实 9 项，其余 3 项本月底前完成。")
    staff.get_by_role("button", name="发送").click()
    expect(staff.locator("#conversation")).to_contain_text("已落实 9 项")
    fits_phone(staff)
    _shot(staff, "4-staff-phone-answered")

    sup.goto(f"{base}/reviews")
    sup.get_by_role("button", name="通过", exact=True).first.click()
    expect(sup.locator("body")).to_contain_text("已审核通过")
    sup.goto(task_url)
    # The period closed on approval and the next one opened.
    expect(sup.locator("#timeline")).to_contain_text("审核通过")
    expect(sup.locator("#timeline")).to_contain_text("责任人审核同意")
    _shot(sup, "5-supervisor-approved")


def _create_adhoc(sup: Page, base: str, factory: Any) -> int:
    """The supervisor files a 交办件 for the unit, due tomorrow; return its assignment's id."""
    sup.goto(f"{base}/adhoc/new")
    sup.get_by_label("任务名称").fill(ADHOC_TITLE)
    sup.get_by_label("任务内容").fill("建立监测预警台账，逐户落实帮扶措施。")
    sup.get_by_label("交办来源").select_option(label="会议决定")
    sup.get_by_label("牵头单位").select_option(label="省乡村振兴测试局")
    tomorrow = datetime.now(SHANGHAI).date() + timedelta(days=1)
    sup.get_by_label("办结时限").fill(tomorrow.isoformat())
    _shot(sup, "6-supervisor-adhoc")
    sup.get_by_role("button", name="交办").click()
    expect(sup).to_have_url(re.compile(r"/policies/\d+$"))
    policy_id = int(sup.url.rsplit("/", 1)[1])
    with factory() as s:
        return int(s.scalars(select(Assignment.id).where(Assignment.policy_id == policy_id)).one())


def _red_at_level_3(leader: Page, base: str) -> bool:
    """Load the leader's view afresh; is the 交办件 there at level 3 yet?"""
    leader.goto(f"{base}/leader")
    rows = leader.locator("#leader-red tbody tr").filter(has_text=ADHOC_TITLE[:12])
    return rows.count() == 1 and "3 级" in rows.inner_text()


def test_overdue_adhoc_task_reaches_the_leader_who_writes_an_instruction(
    browser: Browser, live: Live
) -> None:
    RESULTS.mkdir(exist_ok=True)
    base = live.url
    sup = signed_in(browser, base, "wangdu", DESKTOP)
    aid = _create_adhoc(sup, base, live.factory)
    expect(sup.locator("body")).to_contain_text(ADHOC_TITLE)
    # The deadline is brought forward to a few seconds from now (the API takes a time of day;
    # the page a date): from there the workflow's own timers run it late and up the ladder.
    moved = httpx.post(
        f"{base}/api/v1/assignments/{aid}/due",
        json={"due_at": (utcnow() + timedelta(seconds=3)).isoformat(), "reason": "会议要求提前"},
        headers=api_headers(base, "wangdu"),
    )
    assert moved.status_code == 200, moved.text

    leader = signed_in(browser, base, "zhangld", PHONE)
    wait_until(lambda: _red_at_level_3(leader, base), within=90, what="level 3 at the leader")
    fits_phone(leader)
    _shot(leader, "7-leader-phone-red")
    leader.goto(f"{base}/notifications")
    expect(leader.get_by_role("link", name=re.compile("3级督办"))).to_contain_text(ADHOC_TITLE)
    _shot(leader, "8-leader-phone-notified")

    desk = signed_in(browser, base, "zhangld", DESKTOP)
    desk.goto(f"{base}/leader")
    expect(desk.locator("#leader-red")).to_contain_text("3 级")
    _shot(desk, "9-leader-desktop-red")
    desk.context.close()

    leader.goto(f"{base}/leader")
    leader.get_by_role("link", name="作出批示").first.click()
    assert leader.url.startswith(f"{base}/assignments/{aid}")
    leader.locator("#instruction-body").fill("请于本周内报送整改情况。")
    leader.get_by_role("button", name="批示").click()
    expect(leader.locator("#timeline")).to_contain_text("领导批示")
    expect(leader.locator("#conversation")).to_contain_text("请于本周内报送整改情况。")
    fits_phone(leader)
    _shot(leader, "10-leader-phone-instruction")

    sup.goto(f"{base}/assignments/{aid}")
    expect(sup.locator("#timeline")).to_contain_text("逾期预警（三级：分管领导）")
    expect(sup.locator("#timeline")).to_contain_text("领导批示")
    _shot(sup, "11-supervisor-sees-instruction")
