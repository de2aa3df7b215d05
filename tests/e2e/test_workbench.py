"""End to end in Debian's chromium: a supervisor uploads a genre document, fixes a unit and a deadline,
publishes (交办); the corrected department's staff then finds the task in its inbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from duban.db import make_engine, make_session_factory
from duban.services.department import sync_departments
from duban.services.user import create_user
from duban.settings import Settings
from policies.units import load_registry
from tests.db import BACKENDS
from tests.e2e.a11y import describe, severe_violations
from tests.e2e.stack import LiveStack, second_step

pytestmark = pytest.mark.e2e
RESULTS = Path("test-results")
PASSWORD = "correct-horse-1"
GENRE = Path(__file__).parents[2] / "policies" / "genre" / "guofa_2018_39_employment.txt"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The whole intake, from upload to the staff's inbox, on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def stack(tmp_path: Path, db_url: str) -> Iterator[str]:
    """An empty duban (registry departments, a supervisor, 教育部 staff) served live."""
    url = db_url
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
    page.get_by_role("button", name="登录", exact=True).click()
    second_step(page, username)
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()


def test_supervisor_checks_and_publishes_then_staff_finds_the_task(page: Page, stack: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 1000})
    # 交办 cannot be undone and asks first: say yes, as the person means it.
    page.on("dialog", lambda dialog: dialog.accept())
    _sign_in(page, stack, "duchashi")
    page.goto(f"{stack}/policies")
    page.get_by_role("link", name="＋ 上传政策文件").click()
    page.locator("input[type=file]").set_input_files(str(GENRE))
    page.get_by_role("button", name="上传并分解").click()
    expect(page.get_by_role("heading", name=re.compile("核对任务分解"))).to_be_visible()
    bad = severe_violations(page)
    assert not bad, describe(bad)
    item = page.locator("article.ditem", has_text="扩大就业见习补贴范围")
    expect(item).to_contain_text("人力资源社会保障部")
    expect(page.locator("mark.hl-unit").first).to_be_visible()
    page.screenshot(path=str(RESULTS / "workbench-review.png"), full_page=False)

    # The department is searched on the server as one types (no list of every department).
    item.get_by_text("更换为其他部门").click()
    item.get_by_role("searchbox", name="搜索部门").fill("教育")
    found = item.get_by_role("button", name="对应为 教育部", exact=True)
    expect(found).to_be_visible()
    item.screenshot(path=str(RESULTS / "workbench-department-search.png"))
    found.click()
    item = page.locator("article.ditem", has_text="扩大就业见习补贴范围")
    expect(item.locator(".unit-name")).to_have_text("教育部")

    item.get_by_text("修改此条目").click()
    item.get_by_label("新时限日期").fill("2027-06-30")
    item.get_by_label("新时限原文").fill("2027年6月底前")
    item.get_by_role("button", name="增加时限").click()
    item = page.locator("article.ditem", has_text="扩大就业见习补贴范围")
    expect(item.locator(".deadline-row")).to_contain_text("2027-06-30")

    # Every other task reports once (at its deadlines); this one monthly as well.
    page.get_by_label("默认报送周期", exact=True).select_option("one-off")
    page.get_by_role("button", name="设为默认").click()
    expect(page.locator(".changes")).to_contain_text("默认报送周期设为一次性")
    item.get_by_label("条目报送周期").select_option("monthly")
    item.get_by_role("button", name="设定周期").click()
    expect(page.locator(".changes")).to_contain_text("报送周期设为按月")
    expect(item.get_by_label("条目报送周期")).to_have_value("monthly")
    expect(page.locator(".changes")).to_contain_text("李督查")
    page.screenshot(path=str(RESULTS / "workbench-review-corrected.png"), full_page=False)

    page.get_by_role("button", name=re.compile("^交办")).click()
    expect(page.locator("#start-progress")).to_contain_text("交办完成", timeout=90_000)
    expect(page.locator("#item-5")).to_contain_text("教育部")
    page.screenshot(path=str(RESULTS / "workbench-document.png"), full_page=False)
    page.goto(f"{stack}/policies")
    expect(page.get_by_role("link", name=re.compile("促进就业工作"))).to_be_visible()
    page.screenshot(path=str(RESULTS / "workbench-policies.png"), full_page=True)
    # Signing out is a form POST: let its navigation land before going anywhere else (a goto
    # while it is in flight is interrupted by its redirect).
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login\?signed_out=1$"))

    _sign_in(page, stack, "jyb-staff")
    page.goto(f"{stack}/assignments")
    task = page.get_by_role("link", name=re.compile("扩大就业见习补贴范围"))
    expect(task).to_be_visible()
    task.click()
    expect(page).to_have_url(re.compile(r"/assignments/\d+$"))
    expect(page.locator("main")).to_contain_text("2027-06-30")
    expect(page.locator("main")).to_contain_text("2027年6月底前")
    monthly = page.locator("td[data-label=期次]", has_text=re.compile(r"^\d{4}年\d{1,2}月$"))
    expect(monthly.first).to_be_visible()
    page.screenshot(path=str(RESULTS / "workbench-staff-task.png"), full_page=True)
