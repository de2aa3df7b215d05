"""End to end in Debian's chromium: a supervisor uploads a genre document, fixes a unit and a deadline,
publishes (交办); the corrected department's staff then finds the task in its inbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from duban.db import make_engine, make_session_factory
from duban.services.department import sync_departments
from duban.services.user import create_user
from duban.settings import Settings
from policies.units import load_registry
from tests.db import sqlite_url
from tests.e2e.stack import LiveStack, second_step

pytestmark = pytest.mark.e2e
RESULTS = Path("test-results")
PASSWORD = "correct-horse-1"
GENRE = Path(__file__).parents[2] / "policies" / "genre" / "guofa_2018_39_employment.txt"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's chromium, headless, without a sandbox or GPU."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": flags}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[str]:
    """An empty duban (registry departments, a supervisor, 教育部 staff) served live."""
    url = sqlite_url(tmp_path)
    settings = Settings(
        data_dir=tmp_path / "data", database_url=url, secret_key="e2e", task_queue="e2e-workbench"
    )
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory.begin() as s:
        sync_departments(session=s, registry=load_registry())
        create_user(
            session=s,
            username="duchashi",
            password=PASSWORD,
            role="supervisor",
            display_name="李督查",
        )
        create_user(
            session=s,
            username="jyb-staff",
            password=PASSWORD,
            role="staff",
            department_code="cn-jyb",
            display_name="王老师",
        )
    live = LiveStack(settings, factory, None)
    live.start()
    try:
        live.started([])
        yield live.base_url
    finally:
        live.stop()
        engine.dispose()


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    second_step(page, username)
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()


def test_supervisor_checks_and_publishes_then_staff_finds_the_task(page: Page, stack: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 1000})
    _sign_in(page, stack, "duchashi")
    page.goto(f"{stack}/policies")
    page.get_by_role("link", name="＋ 上传政策文件").click()
    page.locator("input[type=file]").set_input_files(str(GENRE))
    page.get_by_role("button", name="上传并分解").click()
    expect(page.get_by_role("heading", name=re.compile("核对任务分解"))).to_be_visible()
    item = page.locator("article.ditem", has_text="扩大就业见习补贴范围")
    expect(item).to_contain_text("人力资源社会保障部")
    expect(page.locator("mark.hl-unit").first).to_be_visible()
    page.screenshot(path=str(RESULTS / "workbench-review.png"), full_page=False)

    item.get_by_text("更换为其他部门").click()
    item.get_by_placeholder("搜索部门名称或代码").fill("cn-jyb")
    item.get_by_role("button", name="对应", exact=True).click()
    item = page.locator("article.ditem", has_text="扩大就业见习补贴范围")
    expect(item.locator(".unit-name")).to_have_text("教育部")

    item.get_by_text("修改此条目").click()
    item.get_by_label("新时限日期").fill("2027-06-30")
    item.get_by_label("新时限原文").fill("2027年6月底前")
    item.get_by_role("button", name="增加时限").click()
    item = page.locator("article.ditem", has_text="扩大就业见习补贴范围")
    expect(item.locator(".deadline-row")).to_contain_text("2027-06-30")

    page.get_by_label("报送周期", exact=True).select_option("one-off")
    page.get_by_role("button", name="设定").click()
    expect(page.locator("#workbench")).to_contain_text("报送周期设为一次性")
    expect(page.locator(".changes")).to_contain_text("李督查")

    page.get_by_role("button", name=re.compile("^交办")).click()
    expect(page.locator("#start-progress")).to_contain_text("交办完成", timeout=90_000)
    expect(page.locator("#item-5")).to_contain_text("教育部")
    page.screenshot(path=str(RESULTS / "workbench-document.png"), full_page=False)
    page.goto(f"{stack}/policies")
    expect(page.get_by_role("link", name=re.compile("促进就业工作"))).to_be_visible()
    page.screenshot(path=str(RESULTS / "workbench-policies.png"), full_page=True)
    page.get_by_role("button", name="退出登录").click()

    _sign_in(page, stack, "jyb-staff")
    page.goto(f"{stack}/assignments")
    task = page.get_by_role("link", name=re.compile("扩大就业见习补贴范围"))
    expect(task).to_be_visible()
    task.click()
    expect(page.locator("main")).to_contain_text("2027-06-30")
    expect(page.locator("main")).to_contain_text("2027年6月底前")
    page.screenshot(path=str(RESULTS / "workbench-staff-task.png"), full_page=True)
