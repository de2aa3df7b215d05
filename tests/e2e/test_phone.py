"""The main pages at a 390×844 phone viewport: no sideways scroll, a reachable menu, a readable name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from duban.services.user import create_user
from duban.settings import Settings
from tests.e2e.stack import PASSWORD, PHONE, Live, live_stack, signed_in
from tests.workspace import make_assignment, make_department, make_policy

pytestmark = pytest.mark.e2e
RESULTS = Path("test-results")


def _seed(s: Session, settings: Settings) -> tuple[list[int], str | None, dict[str, Any]]:
    """Seed a policy, two departments, three assignments, a staff member and a supervisor."""
    policy = make_policy(
        s,
        items=[
            {"number": 5, "title": "保持主要帮扶政策总体稳定，严格落实“四个不摘”要求"},
            {"number": 6, "title": "健全防止返贫动态监测和帮扶机制"},
        ],
    )
    own, other = make_department(s, "fpb", "省乡村振兴局"), make_department(s, "czt", "省财政厅")
    first = make_assignment(s, policy=policy, department=own, periods=0)
    second = make_assignment(s, policy=policy, department=own, item_number=6, role="co", periods=0)
    third = make_assignment(s, policy=policy, department=other, role="co", periods=0)
    create_user(
        session=s,
        username="ouyang",
        password=PASSWORD,
        role="staff",
        department_code="fpb",
        display_name="欧阳晓明",
    )
    create_user(
        session=s, username="wangdu", password=PASSWORD, role="supervisor", display_name="王督查"
    )
    create_user(
        session=s, username="admin1", password=PASSWORD, role="admin", display_name="系统管理员"
    )
    create_user(
        session=s, username="kaohe", password=PASSWORD, role="assessor", display_name="考核办"
    )
    return [first.id, second.id, third.id], policy.key, {}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A seeded database and the live stack serving it."""
    with live_stack(tmp_path_factory.mktemp("phone"), "phone", _seed) as stack:
        yield stack


def _phone_page(browser: Browser, base: str, username: str) -> Page:
    """Open a phone-sized page and sign in as `username`."""
    return signed_in(browser, base, username, PHONE)


def _check(page: Page, base: str, path: str, shot: str | None = None) -> None:
    """Visit `path` and assert it fits the phone: no overflow, a menu that opens, a one-line name."""
    response = page.goto(f"{base}{path}")
    assert response is not None and response.status == 200, path
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"{path} is {width}px wide"
    name = page.locator(".who-name").bounding_box()
    assert name is not None and name["height"] < 32, f"{path}: name box {name}"
    nav = page.locator("#sidenav")
    expect(nav).to_be_hidden()
    if shot:
        page.screenshot(path=str(RESULTS / f"phone-{shot}.png"), full_page=True)
    page.locator(".nav-toggle-label").click()
    expect(nav).to_be_visible()
    links = nav.get_by_role("link")
    assert links.count() >= 2
    expect(links.first).to_be_in_viewport()
    if shot:
        page.screenshot(path=str(RESULTS / f"phone-{shot}-menu.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1


def test_staff_pages_fit_a_phone(browser: Browser, live: Live) -> None:
    RESULTS.mkdir(exist_ok=True)
    base, aid = live.url, live.ids[0]
    page = _phone_page(browser, base, "ouyang")
    _check(page, base, "/")
    _check(page, base, "/assignments", "staff-inbox")
    expect(page.locator("table.inbox td[data-label='任务']").first).to_be_visible()
    _check(page, base, f"/assignments/{aid}", "staff-assignment")
    _check(page, base, "/notifications")
    _check(page, base, "/assessment/mine")
    page.goto(f"{base}/assignments")
    page.locator(".nav-toggle-label").click()
    page.locator("#sidenav").get_by_role("link", name="消息通知").click()
    expect(page).to_have_url(f"{base}/notifications")
    page.get_by_role("button", name="繁體").click()
    expect(page.locator(".nav-toggle-label")).to_have_text("☰ 菜單")
    _check(page, base, "/assignments", "staff-inbox-hant")


def test_supervisor_pages_fit_a_phone(browser: Browser, live: Live) -> None:
    RESULTS.mkdir(exist_ok=True)
    base, aid = live.url, live.ids[0]
    page = _phone_page(browser, base, "wangdu")
    for path, shot in [
        ("/", "supervisor-home"),
        ("/assignments", None),
        (f"/assignments/{aid}", "supervisor-assignment"),
        ("/board", "board"),
        ("/board?view=heat", "board-heat"),
        ("/reviews", None),
        ("/escalations", "escalations"),
        ("/cockpit", "cockpit"),
        ("/notifications", None),
        ("/policies", "policies"),
    ]:
        _check(page, base, path, shot)
    cards = page.locator("table.board-table tbody tr")
    page.goto(f"{base}/board")
    assert cards.count() == 3
    label = page.locator("table.board-table td[data-label='责任单位']").first
    box = label.bounding_box()
    assert box is not None and box["width"] > 300


def test_admin_and_assessor_pages_fit_a_phone(browser: Browser, live: Live) -> None:
    RESULTS.mkdir(exist_ok=True)
    base = live.url
    page = _phone_page(browser, base, "admin1")
    for path in ["/", "/admin/users", "/admin/departments", "/policies", "/notifications"]:
        _check(page, base, path, "admin-users" if path == "/admin/users" else None)
    expect(page.locator("#sidenav").get_by_role("link", name="用户管理")).to_be_visible()
    page = _phone_page(browser, base, "kaohe")
    for path in ["/", "/assessment", "/notifications"]:
        _check(page, base, path, "assessment" if path == "/assessment" else None)
