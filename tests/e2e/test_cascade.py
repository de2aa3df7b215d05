"""层层分解 in the browser: a province department splits its task (with a target of 300 个) to two
city governments at 60 % and 40 %, each reports its actual against its share (180 and 120), and
the department sees the roll-up (2 / 2 reported, 170 + 110 = 280 of 300 in the chart's table)
before it reports as done. SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy import select

from duban.db import make_engine, make_session_factory
from duban.models import Department, PolicyItem, PolicyVersion, TaskTarget
from duban.services.department import sync_departments
from duban.services.orgtree import sync_tree
from duban.services.user import create_user
from duban.settings import Settings
from policies.orgtree import load_tree
from policies.units import load_registry
from tests.e2e.stack import LiveStack, second_step
from tests.workspace import make_assignment, make_policy
from web.i18n import SHANGHAI

pytestmark = pytest.mark.e2e
RESULTS = Path("test-results")
PASSWORD = "correct-horse-1"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
TITLE = "推进村庄规划编制"
PEOPLE = (
    ("wangke", "staff", "jl-rst", "王科"),
    ("changchun", "staff", "jl-cc", "长春市承办人"),
    ("jilinshi", "staff", "jl-jlc", "吉林市承办人"),
    ("duchashi", "supervisor", None, "督查室"),
)


def _seed(s: Any) -> tuple[int, str]:
    sync_departments(session=s, registry=load_registry())
    sync_tree(session=s, nodes=load_tree())
    policy = make_policy(s, items=[{"number": 5, "title": TITLE}])
    version = s.scalars(select(PolicyVersion).where(PolicyVersion.policy_id == policy.id)).one()
    version.parsed = {"cadence": "one-off"}
    due = (datetime.now(SHANGHAI).date() + timedelta(days=60)).isoformat()
    item = s.scalars(select(PolicyItem).where(PolicyItem.version_id == version.id)).one()
    item.deadlines = [{"text": "60日内", "date": due}]
    s.add(
        TaskTarget(
            item_id=item.id,
            position=0,
            text="完成村庄规划编制300个",
            value=300,
            unit="个",
            direction="at_least",
            deadline_date=date.fromisoformat(due),
        )
    )
    rst = s.scalars(select(Department).where(Department.code == "jl-rst")).one()
    task = make_assignment(s, policy=policy, department=rst, periods=0)
    for username, role, code, name in PEOPLE:
        create_user(
            session=s,
            username=username,
            password=PASSWORD,
            role=role,
            department_code=code,
            display_name=name,
        )
    return task.id, policy.key


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Iterator[dict[str, Any]]:
    """A seeded database (SQLite or PostgreSQL) and the live stack serving it."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        secret_key="e2e-cascade",
        task_queue="e2e-cascade",
    )
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with factory.begin() as s:
        task_id, policy_key = _seed(s)
    stack = LiveStack(settings, factory, policy_key)
    stack.start()
    try:
        stack.started([task_id])
        yield {"url": stack.base_url, "task": task_id}
    finally:
        stack.stop()
        engine.dispose()


def _signed_in(
    browser: Browser, base: str, username: str, viewport: ViewportSize = DESKTOP
) -> Page:
    context = browser.new_context(
        viewport=viewport, device_scale_factor=1, is_mobile=viewport == PHONE
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    second_step(page, username)
    expect(page.locator(".who-name")).to_be_visible()
    return page


def _shot(page: Page, name: str, backend: str) -> None:
    page.screenshot(path=str(RESULTS / f"cascade-{name}-{backend}.png"), full_page=True)


def _split(page: Page, city: str, due: str, share: str) -> None:
    page.locator("details.split summary").click()
    page.get_by_label("下级单位").select_option(label=city)
    page.locator("input[name=due_date]").fill(due)
    page.get_by_label("指标分解比例（%）").fill(share)
    page.get_by_role("button", name="分解", exact=True).click()
    expect(page.locator(".cascade-children")).to_contain_text(city)


def _city_reports(
    browser: Browser, base: str, who: tuple[str, ViewportSize], share: tuple[str, str], actual: str
) -> Page:
    """Sign in as a city, acknowledge, and report `actual` against its share (`share`: the
    percentage and the target it makes, e.g. ("60", "180"))."""
    username, viewport = who
    page = _signed_in(browser, base, username, viewport)
    page.goto(f"{base}/assignments")
    page.get_by_role("link", name=TITLE).first.click()
    expect(page.locator("#cascade")).to_contain_text("人社厅")
    page.get_by_role("button", name="签收").click()
    expect(page.locator("#report")).to_be_visible()
    fields = page.locator(".actuals-fields")
    expect(fields).to_contain_text(f"不低于{share[1]}个")  # its share of 300 个
    expect(fields).to_contain_text(f"上级指标 300个 的 {share[0]}%")
    page.locator("#report").fill("本市村庄规划已全部编制完成。")
    fields.locator("input[name=actuals]").fill(actual)
    page.get_by_role("button", name="报送", exact=True).click()
    expect(page.locator("#state")).to_have_text("已报送待审核", timeout=15_000)
    chart = page.locator(".target-chart").first
    expect(chart.locator("figcaption")).to_contain_text(f"不低于{share[1]}个")
    expect(chart.locator(".chart-table")).to_contain_text(actual)
    return page


def test_province_department_cascades_to_two_cities_and_sees_the_roll_up(
    browser: Browser, live: dict[str, Any], backend: str
) -> None:
    RESULTS.mkdir(exist_ok=True)
    base = live["url"]
    task_url = f"{base}/assignments/{live['task']}"
    due = (datetime.now(SHANGHAI).date() + timedelta(days=30)).isoformat()
    late = (datetime.now(SHANGHAI).date() + timedelta(days=90)).isoformat()

    province = _signed_in(browser, base, "wangke")
    province.goto(task_url)
    province.get_by_role("button", name="签收").click()
    expect(province.locator("#state")).to_have_text("已签收", timeout=15_000)
    # A child due after its parent: a clear refusal, the typed values kept, nothing made.
    province.locator("details.split summary").click()
    province.get_by_label("下级单位").select_option(label="长春市人民政府")
    province.locator("input[name=due_date]").fill(late)
    province.get_by_label("指标分解比例（%）").fill("60")
    province.get_by_role("button", name="分解", exact=True).click()
    expect(province.locator("#split-error")).to_contain_text("不能晚于上级任务的截止时间")
    expect(province.locator(".cascade-children")).to_have_count(0)
    province.goto(task_url)
    _split(province, "长春市人民政府", due, "60")
    _split(province, "吉林市人民政府", due, "40")
    expect(province.locator("#rollup")).to_contain_text("已报送 0 / 2")
    expect(province.locator("#submit-blocked")).to_contain_text("长春市人民政府")
    _shot(province, "1-split-blocked", backend)

    changchun = _city_reports(browser, base, ("changchun", DESKTOP), ("60", "180"), "170")
    _shot(changchun, "2-city-reported", backend)
    jilin = _city_reports(browser, base, ("jilinshi", PHONE), ("40", "120"), "110")
    _shot(jilin, "3-city-reported-phone", backend)

    province.goto(task_url)
    expect(province.locator("#rollup")).to_contain_text("已报送 2 / 2")
    expect(province.locator("#rollup")).to_contain_text("指标已分解 100%")
    expect(province.locator("#submit-blocked")).to_have_count(0)
    # The roll-up chart: a line per city and their sum against the province's 300 个.
    roll = province.locator("#rollup-charts .target-chart")
    expect(roll.locator("figcaption")).to_contain_text("不低于300个")
    expect(roll.locator(".chart-legend")).to_contain_text("长春市人民政府")
    expect(roll.locator(".chart-legend")).to_contain_text("下级合计")
    rows = roll.locator(".chart-table tbody tr")
    expect(rows.filter(has_text="长春市人民政府").first).to_contain_text("170")
    expect(rows.filter(has_text="吉林市人民政府").first).to_contain_text("110")
    total = rows.filter(has_text="下级合计").filter(has_text="2/2 单位")
    expect(total).to_have_count(1)
    expect(total.locator("td.num")).to_have_text("280")
    expect(roll.locator("svg circle.actual-dot")).to_have_count(3)
    _shot(province, "3b-roll-up-chart", backend)
    province.locator("#report").fill("全省村庄规划编制完成：长春市、吉林市均已报送。")
    province.locator(".actuals-fields input[name=actuals]").fill("280")
    province.get_by_role("button", name="报送", exact=True).click()
    expect(province.locator("#state")).to_have_text("已报送待审核", timeout=15_000)
    _shot(province, "4-parent-reported", backend)

    phone = _signed_in(browser, base, "wangke", PHONE)
    phone.goto(task_url)
    expect(phone.locator("#rollup")).to_be_visible()
    expect(phone.locator("#rollup-charts .chart-table")).to_contain_text("280")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the roll-up is {width}px wide on a phone"
    _shot(phone, "5-roll-up-phone", backend)

    supervisor = _signed_in(browser, base, "duchashi")
    supervisor.goto(f"{base}/board?under=jl-gov")
    expect(supervisor.locator(".cascade-kids")).to_contain_text("长春市人民政府")
    _shot(supervisor, "6-board-drill-down", backend)
    supervisor.goto(f"{base}/cockpit?under=jl-gov#tree")
    expect(supervisor.locator(".tree-rates")).to_contain_text("长春市人民政府")
    _shot(supervisor, "7-cockpit-tree", backend)
