"""Named people in the browser: the head hands a task to a colleague, who reports from a
390×844 phone; the head signs off; the supervisor asks in the conversation, gets an answer and
approves; a leader sees the red item of their remit and writes a 批示. Screenshots in
test-results/people-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from duban.db import make_engine, make_session_factory, utcnow
from duban.models import Assignment, LeaderDepartment
from duban.services.user import create_user
from duban.settings import Settings
from tests.db import sqlite_url
from tests.e2e.stack import LiveStack, second_step
from tests.workspace import make_assignment, make_department, make_policy

pytestmark = pytest.mark.e2e
RESULTS = Path("test-results")
PASSWORD = "correct-horse-1"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


def _seed(s: Any) -> tuple[list[int], str]:
    """A policy that asks for head sign-off, one task due ahead and one overdue, five people."""
    policy = make_policy(
        s,
        items=[
            {"number": 5, "title": "保持主要帮扶政策总体稳定"},
            {"number": 6, "title": "健全防止返贫动态监测和帮扶机制"},
        ],
    )
    policy.head_sign_off = True
    dept = make_department(s, "xczx", "省乡村振兴测试局")
    task = make_assignment(s, policy=policy, department=dept, periods=0)
    late = make_assignment(
        s,
        policy=policy,
        department=dept,
        item_number=6,
        periods=0,
        due_at=utcnow() - timedelta(days=3),
    )
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
    return [task.id, late.id], policy.key


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A seeded database and the live stack serving it."""
    tmp = tmp_path_factory.mktemp("people")
    url = sqlite_url(tmp)
    settings = Settings(
        data_dir=tmp / "data", database_url=url, secret_key="e2e-people", task_queue="e2e-people"
    )
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory.begin() as s:
        ids, policy_key = _seed(s)
    stack = LiveStack(settings, factory, policy_key)
    stack.start()
    try:
        stack.started(ids)
        yield {"url": stack.base_url, "task": ids[0], "late": ids[1], "factory": factory}
    finally:
        stack.stop()
        engine.dispose()


def _signed_in(browser: Browser, base: str, username: str, viewport: ViewportSize) -> Page:
    context: BrowserContext = browser.new_context(
        viewport=viewport, device_scale_factor=1, is_mobile=viewport == PHONE
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # 报送 / 通过 ask first (duban.js)
    page.goto(f"{base}/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    second_step(page, username)
    expect(page.locator(".who-name")).to_be_visible()
    return page


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(RESULTS / f"people-{name}.png"), full_page=True)


def _fits_phone(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"{page.url} is {width}px wide"


def test_named_colleague_reports_head_signs_off_supervisor_asks_and_approves(
    browser: Browser, live: dict[str, Any]
) -> None:
    RESULTS.mkdir(exist_ok=True)
    base, aid = live["url"], live["task"]
    task_url = f"{base}/assignments/{aid}"

    head = _signed_in(browser, base, "lichu", DESKTOP)
    head.goto(task_url)
    head.get_by_label("指定承办人").select_option(label="欧阳晓明（承办人）")
    head.get_by_role("button", name="交办").click()
    expect(head.locator("#assignee")).to_contain_text("欧阳晓明")
    _shot(head, "1-head-hands-over")

    staff = _signed_in(browser, base, "ouyang", PHONE)
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
    _fits_phone(staff)
    _shot(staff, "2-staff-phone-reported")

    head.goto(task_url)
    expect(head.locator("#sign-off")).to_contain_text("已完成政策梳理")
    head.get_by_role("button", name="同意报送督查室").click()
    expect(head.locator("#state")).to_have_text("已报送待审核")
    _shot(head, "3-head-signed-off")

    sup = _signed_in(browser, base, "wangdu", DESKTOP)
    sup.goto(task_url)
    sup.locator("#message-body").fill("@ouyang 请说明“逐项落实”的进度。")
    sup.get_by_role("button", name="发送").click()
    expect(sup.locator("#conversation")).to_contain_text("逐项落实”的进度")

    staff.goto(task_url)
    expect(staff.locator("#conversation")).to_contain_text("王督查")
    staff.locator("#message-body").fill("12 项中已落实 9 项，其余 3 项本月底前完成。")
    staff.get_by_role("button", name="发送").click()
    expect(staff.locator("#conversation")).to_contain_text("已落实 9 项")
    _fits_phone(staff)
    _shot(staff, "4-staff-phone-answered")

    sup.goto(f"{base}/reviews")
    sup.get_by_role("button", name="通过", exact=True).first.click()
    expect(sup.locator("body")).to_contain_text("已审核通过")
    sup.goto(task_url)
    # The period closed on approval and the next one opened.
    expect(sup.locator("#timeline")).to_contain_text("审核通过")
    expect(sup.locator("#timeline")).to_contain_text("责任人审核同意")
    _shot(sup, "5-supervisor-approved")


def test_leader_sees_red_in_remit_and_writes_an_instruction(
    browser: Browser, live: dict[str, Any]
) -> None:
    RESULTS.mkdir(exist_ok=True)
    base, late = live["url"], live["late"]
    # The workflow planned its periods from today; the read model is put three days past due,
    # as it would stand once the period ran out (the view reads only the read model).
    with live["factory"].begin() as s:
        s.get_one(Assignment, late).due_at = utcnow() - timedelta(days=3)
    leader = _signed_in(browser, base, "zhangld", DESKTOP)
    leader.goto(f"{base}/leader")
    expect(leader.locator("#leader-red")).to_contain_text("健全防止返贫动态监测和帮扶机制")
    _shot(leader, "6-leader-red")
    leader.get_by_role("link", name="作出批示").first.click()
    leader.locator("#instruction-body").fill("请于本周内报送整改情况。")
    leader.get_by_role("button", name="批示").click()
    expect(leader.locator("#timeline")).to_contain_text("领导批示")
    expect(leader.locator("#conversation")).to_contain_text("请于本周内报送整改情况。")
    assert leader.url.startswith(f"{base}/assignments/{late}")
    _shot(leader, "7-leader-instruction")
