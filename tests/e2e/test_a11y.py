"""Accessibility: axe-core on every page as every role, a skip link, visible focus; new pages shot.

Also walks the new supervisor steps at desktop and 390×844: a report with evidence reaches the
review queue, the supervisor previews a PDF from there and approves it on the task page.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from playwright.sync_api import Browser, Dialog, Page, ViewportSize, expect
from sqlalchemy.orm import Session

from duban.models import LeaderDepartment
from duban.services.evidence import EvidenceStore, record_evidence
from duban.services.user import create_user
from duban.settings import Settings
from tests.e2e.a11y import describe, severe_violations
from tests.e2e.stack import PASSWORD, PHONE, Live, live_stack, signed_in
from tests.workspace import make_assignment, make_department, make_policy

pytestmark = pytest.mark.e2e
RESULTS = Path("test-results")
DESKTOP: ViewportSize = {"width": 1366, "height": 768}
USERS = {
    "ouyang": ("staff", "fpb", "欧阳晓明"),
    "lizhang": ("head", "fpb", "李主任"),
    "wangdu": ("supervisor", None, "王督查"),
    "kaohe": ("assessor", None, "考核办"),
    "admin1": ("admin", None, "系统管理员"),
    "zhangld": ("leader", None, "张副省长"),
}


def _pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=24)
    pdf.cell(0, 20, "Progress report, Q1")
    return bytes(pdf.output())


def _seed(s: Session, settings: Settings) -> tuple[list[int], str | None, dict[str, Any]]:
    policy = make_policy(
        s,
        items=[
            {"number": 5, "title": "保持主要帮扶政策总体稳定"},
            {"number": 6, "title": "健全防止返贫动态监测和帮扶机制"},
        ],
    )
    own, other = make_department(s, "fpb", "省乡村振兴局"), make_department(s, "czt", "省财政厅")
    first = make_assignment(s, policy=policy, department=own, periods=0)
    second = make_assignment(s, policy=policy, department=own, item_number=6, periods=0)
    third = make_assignment(s, policy=policy, department=other, role="co", periods=0)
    leader = 0
    for username, (role, dept, name) in USERS.items():
        user = create_user(
            session=s,
            username=username,
            password=PASSWORD,
            role=role,
            department_code=dept,
            display_name=name,
        )
        if role == "leader":
            s.add(LeaderDepartment(user_id=user.id, department_id=own.id))
            leader = user.id
    store = EvidenceStore(settings.evidence_dir, max_bytes=settings.max_upload_bytes)
    evidence = record_evidence(
        session=s,
        store=store,
        assignment_id=first.id,
        user_id=None,
        actor="欧阳晓明",
        filename="一季度进展报告.pdf",
        source=io.BytesIO(_pdf()),
    )
    return [first.id, second.id, third.id], policy.key, {"evidence": evidence.id, "leader": leader}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A seeded database and the live stack serving it."""
    with live_stack(tmp_path_factory.mktemp("a11y"), "a11y", _seed) as stack:
        yield stack


def _page(
    browser: Browser,
    base: str,
    username: str,
    viewport: ViewportSize = DESKTOP,
    *,
    confirm: bool = True,
) -> Page:
    return signed_in(browser, base, username, viewport, confirm=confirm)


def _shoot(page: Page, name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=True)


def _report(browser: Browser, base: str, aid: int) -> None:
    """The staff member takes the task on and reports with the seeded PDF."""
    page = _page(browser, base, "ouyang")
    page.goto(f"{base}/assignments/{aid}")
    page.get_by_role("button", name="签收").click()
    expect(page.locator("#state")).to_have_text("已签收", timeout=15_000)
    page.get_by_label("进展情况").fill("已完成第一季度政策落实情况自查，材料见附件。")
    page.get_by_role("button", name="报送", exact=True).click()
    expect(page.locator("#state")).to_have_text("已报送待审核", timeout=15_000)
    expect(page.locator(".flash")).to_be_visible()
    # A message in the conversation, so its thread is audited with something in it.
    page.locator("#message-body").fill("@wangdu 附件为一季度进展报告，请审阅。")
    page.get_by_role("button", name="发送").click()
    expect(page.locator("#conversation")).to_contain_text("请审阅")
    page.context.close()


def _pages(live: Live) -> dict[str, list[str]]:
    aid, eid = live.ids[0], live.extra["evidence"]
    view = f"/assignments/{aid}/evidence/{eid}/view"
    own = ["/", "/assignments", f"/assignments/{aid}", view, "/notifications", "/account/password"]
    account = ["/account/2fa", "/account/sessions"]
    return {
        "ouyang": [*own, "/assessment/mine", *account],
        "lizhang": ["/", "/assignments", f"/assignments/{aid}", *account],
        "zhangld": ["/", "/leader", f"/assignments/{aid}", "/notifications", *account],
        "wangdu": [
            "/",
            "/board",
            "/board?view=department",
            "/board?view=task",
            "/board?view=heat",
            "/reviews",
            "/escalations",
            "/escalations?level=3",
            "/cockpit",
            "/policies/1",
            "/policies",
            "/policies/drafts/new",
            f"/assignments/{aid}",
            view,
            "/notifications",
            "/adhoc/new",
            *account,
        ],
        "kaohe": [
            "/",
            "/assessment",
            "/assessment/departments/fpb",
            "/assessment/rubric",
            "/assessment/evaluations",
        ],
        "admin1": [
            "/",
            "/admin/users",
            "/admin/users/new",
            "/admin/users/1",  # the first seeded account
            "/admin/departments",
            "/admin/departments/fpb",
            "/policies",
            f"/admin/users/{live.extra['leader']}",  # with the leader's remit
        ],
    }


def _check_notice(page: Page, base: str) -> None:
    """The task page's 督办通知单 link gives a PDF whose text reads back in Chinese."""
    href = page.get_by_role("link", name="督办通知单（PDF）").get_attribute("href")
    assert href is not None
    pdf = page.request.get(f"{base}{href}")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.body(), check=True, capture_output=True
    ).stdout.decode()
    assert "督办通知单" in text and "省乡村振兴局" in text and "号" in text


def _audit(page: Page, base: str, who: str, paths: list[str], found: dict[str, str]) -> None:
    for path in paths:
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status == 200, path
        if bad := severe_violations(page):
            found[f"{who} {path}"] = describe(bad)


@pytest.fixture(scope="module")
def reported(browser: Browser, live: Live) -> Live:
    """The stack once the staff member has reported on the first assignment (queue not empty)."""
    _report(browser, live.url, live.ids[0])
    return live


def _audit_second_step(browser: Browser, base: str, viewport: ViewportSize) -> dict[str, str]:
    """The login page, and the second-factor page a right password leads to."""
    page = browser.new_context(viewport=viewport).new_page()
    found: dict[str, str] = {}
    _audit(page, base, "anonymous", ["/login"], found)
    page.get_by_label("用户名").fill("wangdu")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/login/2fa**")
    if bad := severe_violations(page):
        found["anonymous /login/2fa"] = describe(bad)
    page.context.close()
    return found


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_as_every_role_has_no_serious_violation(
    browser: Browser, reported: Live, viewport: ViewportSize
) -> None:
    base = reported.url
    found = _audit_second_step(browser, base, viewport)
    for username, paths in _pages(reported).items():
        page = _page(browser, base, username, viewport)
        _audit(page, base, username, paths, found)
        page.context.close()
    assert not found, "\n".join(f"{where}\n{text}" for where, text in found.items())


def test_skip_link_and_visible_focus(browser: Browser, live: Live) -> None:
    base = live.url
    page = _page(browser, base, "wangdu")
    page.goto(f"{base}/board")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到正文")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    style = "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth"
    outline = skip.evaluate(style)
    assert not outline.startswith("none") and not outline.endswith(" 0px"), outline
    skip.press("Enter")
    expect(page).to_have_url(f"{base}/board#content")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#content') !== null")
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_supervisor_previews_evidence_and_reviews_on_the_task_page(
    browser: Browser, reported: Live, viewport: ViewportSize
) -> None:
    base, aid = reported.url, reported.ids[0]
    size = "desktop" if viewport == DESKTOP else "phone"
    page = _page(browser, base, "wangdu", viewport)
    page.goto(f"{base}/reviews")
    _shoot(page, f"a11y-reviews-{size}")
    page.get_by_role("link", name="预览 一季度进展报告.pdf").first.click()
    image = page.locator("img.preview-image")
    expect(image).to_be_visible()
    # Wait for the picture itself: the PDF page is drawn on the server.
    page.wait_for_function(
        "() => { const i = document.querySelector('img.preview-image');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    _shoot(page, f"a11y-preview-{size}")
    page.goto(f"{base}/assignments/{aid}")
    expect(page.get_by_role("heading", name="督办", exact=True)).to_be_visible()
    _shoot(page, f"a11y-task-supervisor-{size}")
    if viewport == DESKTOP:  # the phone run (first) only looks; the desktop run approves
        _check_notice(page, base)
        page.get_by_label("审核意见（可选）").fill("材料齐全，同意。")
        page.get_by_role("button", name="审核通过").click()
        expect(page.locator(".flash")).to_be_visible()
        expect(page.locator("#timeline")).to_contain_text("审核通过", timeout=15_000)
        _shoot(page, f"a11y-task-approved-{size}")
    assert not severe_violations(page), describe(severe_violations(page))
    page.context.close()


def test_cockpit_fits_one_screen_and_drills_down(browser: Browser, reported: Live) -> None:
    base = reported.url
    page = _page(browser, base, "wangdu")
    page.goto(f"{base}/cockpit")
    grid = page.locator(".cockpit-one-screen")
    expect(grid).to_be_visible()
    box = grid.bounding_box()
    assert box is not None and box["y"] + box["height"] <= DESKTOP["height"], box
    _shoot(page, "a11y-cockpit-desktop")
    page.locator(".cockpit-one-screen svg.chart a .lbl").first.click()
    expect(page).to_have_url(re.compile(r"/board\?department="))
    page.context.close()
    phone = _page(browser, base, "wangdu", PHONE)
    phone.goto(f"{base}/cockpit")
    _shoot(phone, "a11y-cockpit-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    phone.context.close()


def test_saved_filters_are_named_links_kept_by_the_browser(browser: Browser, live: Live) -> None:
    base = live.url
    page = _page(browser, base, "wangdu", confirm=False)
    page.goto(f"{base}/board?q=乡村振兴&light=green")
    asked: list[str] = []

    def name_it(dialog: Dialog) -> None:
        asked.append(dialog.type)
        dialog.accept("本局绿灯")

    page.once("dialog", name_it)
    page.get_by_role("button", name="保存当前筛选").first.click()
    saved = page.get_by_role("link", name="本局绿灯")
    expect(saved).to_be_visible()
    assert asked == ["prompt"]
    page.goto(f"{base}/board")
    page.get_by_role("link", name="本局绿灯").click()
    expect(page).to_have_url(re.compile(r"/board\?q=%E4%B9%A1.*light=green"))
    expect(page.get_by_role("search").get_by_label("搜索")).to_have_value("乡村振兴")
    page.context.close()
