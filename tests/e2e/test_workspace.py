"""End to end in Debian's chromium: staff signs in, acknowledges, uploads two files, submits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from duban.db import make_engine, make_session_factory
from duban.services.user import create_user
from duban.settings import Settings
from tests.db import sqlite_url
from tests.e2e.stack import LiveStack
from tests.workspace import make_assignment, make_department, make_policy

pytestmark = pytest.mark.e2e
RESULTS = Path("test-results")
PASSWORD = "correct-horse-1"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A seeded database and the live stack serving it."""
    url = sqlite_url(tmp_path)
    settings = Settings(
        data_dir=tmp_path / "data", database_url=url, secret_key="e2e", task_queue="e2e-workspace"
    )
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory.begin() as s:
        policy = make_policy(
            s,
            items=[
                {
                    "number": 5,
                    "title": "保持主要帮扶政策总体稳定",
                    "body": "过渡期内严格落实“四个不摘”要求，摘帽县、村和脱贫人口继续享受帮扶政策。",
                },
                {"number": 6, "title": "健全防止返贫动态监测和帮扶机制"},
            ],
        )
        own, other = make_department(s, "fpb", "省扶贫办"), make_department(s, "czt", "省财政厅")
        first = make_assignment(s, policy=policy, department=own, periods=0)
        second = make_assignment(
            s, policy=policy, department=own, item_number=6, role="co", periods=0
        )
        make_assignment(s, policy=policy, department=other, role="co", periods=0)
        create_user(
            session=s,
            username="zhangsan",
            password=PASSWORD,
            role="staff",
            department_code="fpb",
            display_name="张三",
        )
        ids, key = [first.id, second.id], policy.key
    live = LiveStack(settings, factory, key)
    live.start()
    try:
        live.started(ids)
        yield {"url": live.base_url, "assignment": ids[0], "tmp": tmp_path}
    finally:
        live.stop()
        engine.dispose()


def test_staff_acknowledges_uploads_and_submits(page: Page, stack: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    base = stack["url"]
    page.goto(f"{base}/assignments")
    page.get_by_label("用户名").fill("zhangsan")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{base}/assignments")
    expect(page.get_by_role("heading", name="任务收件箱")).to_be_visible()
    expect(page.get_by_role("link", name="（5）保持主要帮扶政策总体稳定")).to_be_visible()
    page.screenshot(path=str(RESULTS / "workspace-inbox.png"), full_page=True)

    page.get_by_role("link", name="（5）保持主要帮扶政策总体稳定").click()
    expect(page.locator("#state")).to_have_text("待签收")
    page.get_by_role("button", name="签收").click()
    expect(page.locator("#state")).to_have_text("已签收", timeout=15_000)

    report = stack["tmp"] / "进展报告.pdf"
    report.write_bytes(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
    photo = stack["tmp"] / "现场照片.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048)
    page.locator("form.uploader input[type=file]").set_input_files([str(report), str(photo)])
    expect(page.locator(".upload-progress li.ok")).to_have_count(2, timeout=15_000)
    expect(page.locator("input[name=evidence_ids]")).to_have_count(2)

    page.get_by_label("进展情况").fill("已完成第一季度政策落实情况自查，相关材料见附件。")
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.get_by_role("button", name="报送", exact=True).click()
    expect(page.locator("#state")).to_have_text("已报送待审核", timeout=15_000)
    assert asked and "报送后不能修改" in asked[0]
    expect(page.locator(".flash")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("报送进展")
    expect(page.locator("#timeline")).to_contain_text("进展报告.pdf")
    page.screenshot(path=str(RESULTS / "workspace-assignment.png"), full_page=True)
