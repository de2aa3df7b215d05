"""The report page following a task's template, in Chromium at 1280 px and at a 390×844 phone.

A department reuses a file it uploaded for another task, fills the template's fields and
reports; screenshots of both widths go to test-results/ (looked at when this was built).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from duban.db import make_engine, make_session_factory
from duban.rules import ReportField, ReportSpec
from duban.services.evidence import EvidenceStore, record_evidence
from duban.services.report_template import save_template
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
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
SPEC = ReportSpec(
    fields=[
        ReportField("villages", "本期认定脱贫村数量", "number", required=True, unit="个"),
        ReportField("status", "推进情况", "choice", required=True, choices=["按期推进", "滞后"]),
        ReportField("finished_on", "预计完成日期", "date"),
        ReportField("problems", "存在问题及下步打算", "text"),
    ],
    evidence_kinds=["pdf"],
)


def _seed(s: Any, settings: Settings) -> tuple[list[int], str]:
    """Two tasks of 省乡村振兴局, a template on the first, a PDF already on the second."""
    policy = make_policy(
        s,
        items=[
            {"number": 5, "title": "每年认定300个脱贫村，持续巩固“两不愁三保障”成果"},
            {"number": 6, "title": "健全防止返贫动态监测和帮扶机制"},
        ],
    )
    own = make_department(s, "fpb", "省乡村振兴局")
    first = make_assignment(s, policy=policy, department=own, periods=0)
    second = make_assignment(s, policy=policy, department=own, item_number=6, periods=0)
    staff = create_user(
        session=s, username="ouyang", password=PASSWORD, role="staff", department_code="fpb",
        display_name="欧阳晓明",
    )  # fmt: skip
    sup = create_user(
        session=s, username="wangdu", password=PASSWORD, role="supervisor", display_name="王督查"
    )
    save_template(session=s, user=sup, policy_id=policy.id, item_number=5, spec=SPEC)
    store = EvidenceStore(settings.evidence_dir, max_bytes=settings.max_upload_bytes)
    record_evidence(
        session=s, store=store, assignment_id=second.id, user_id=staff.id, actor="欧阳晓明",
        filename="2026年脱贫村认定名单.pdf", source=io.BytesIO(PDF),
    )  # fmt: skip
    return [first.id, second.id], policy.key


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A seeded database and the live stack serving it."""
    tmp = tmp_path_factory.mktemp("report")
    url = sqlite_url(tmp)
    settings = Settings(
        data_dir=tmp / "data", database_url=url, secret_key="e2e-report", task_queue="e2e-report"
    )
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory.begin() as s:
        ids, policy_key = _seed(s, settings)
    stack = LiveStack(settings, factory, policy_key)
    stack.start()
    try:
        stack.started(ids)
        yield {"url": stack.base_url, "assignment": ids[0]}
    finally:
        stack.stop()
        engine.dispose()


def _signed_in(browser: Browser, base: str, viewport: ViewportSize, username: str) -> Page:
    context = browser.new_context(
        viewport=viewport, device_scale_factor=1, is_mobile=viewport == PHONE
    )
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    page.goto(f"{base}/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    second_step(page, username)
    expect(page.locator(".who-name")).to_be_visible()
    return page


def test_report_page_follows_the_template(browser: Browser, live: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    base, aid = live["url"], live["assignment"]
    page = _signed_in(browser, base, DESKTOP, "ouyang")
    page.goto(f"{base}/assignments/{aid}")
    page.get_by_role("button", name="签收").click()
    expect(page.get_by_text("本期报送要求")).to_be_visible()
    page.get_by_text("从已上传材料中选择").click()
    page.get_by_role("button", name="附上 2026年脱贫村认定名单.pdf").click()
    expect(page.get_by_text("已附上：2026年脱贫村认定名单.pdf")).to_be_visible()
    page.get_by_label("进展情况").fill("已完成第一批脱贫村认定，名单已公示。")
    page.get_by_label("本期认定脱贫村数量").fill("三百")
    page.get_by_label("推进情况").select_option("按期推进")
    page.get_by_label("预计完成日期").fill("2026-12-31")
    page.screenshot(path=str(RESULTS / "report-template-desktop.png"), full_page=True)
    mobile = _signed_in(browser, base, PHONE, "ouyang")
    mobile.goto(f"{base}/assignments/{aid}")
    expect(mobile.get_by_label("本期认定脱贫村数量")).to_be_visible()
    assert mobile.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    mobile.locator("#report-fields").screenshot(path=str(RESULTS / "report-template-phone.png"))
    mobile.screenshot(path=str(RESULTS / "report-template-phone-page.png"), full_page=True)
    page.get_by_role("button", name="报送", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("须为数字")
    page.get_by_label("本期认定脱贫村数量").fill("300")
    page.get_by_role("button", name="报送", exact=True).click()
    expect(page.locator("#state")).to_have_text("已报送待审核")
    expect(page.locator(".submission .answers").first).to_contain_text("300 个")
    page.screenshot(path=str(RESULTS / "report-template-desktop-sent.png"), full_page=True)

    phone = _signed_in(browser, base, PHONE, "wangdu")
    phone.goto(f"{base}/reviews")
    expect(phone.locator(".answers").first).to_contain_text("300 个")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    phone.screenshot(path=str(RESULTS / "report-template-phone-review.png"), full_page=True)
    phone.goto(f"{base}/policies/1/tasks/5/report-template")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    phone.screenshot(path=str(RESULTS / "report-template-phone-edit.png"), full_page=True)
