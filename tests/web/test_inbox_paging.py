"""The inbox page a page at a time: 下一页 links cover the filtered rows once, in urgency order,
the counts count every page, and a cursor not of the inbox is refused. SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from duban.db import utcnow
from duban.domain import UserRole
from duban.services.paging import PAGE_SIZE
from tests.db import BACKENDS
from tests.workspace import make_assignment, make_department, make_policy

N = PAGE_SIZE + 13


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """These tests run on both databases."""
    return str(request.param)


@pytest.fixture
def seeded(db):
    """N assignments of one department, due a day apart (earliest most urgent), every third co."""
    now = utcnow()
    with db.begin() as s:
        policy = make_policy(s, items=[{"number": n, "title": f"翻页任务{n}"} for n in range(N)])
        dept = make_department(s, "fpb", "省扶贫办")
        ids = [
            make_assignment(
                s,
                policy=policy,
                department=dept,
                item_number=n,
                role="co" if n % 3 == 0 else "lead",
                periods=0,
                due_at=now + timedelta(days=10 + n),
            ).id
            for n in range(N)
        ]
    return ids


async def _walk(client, url):
    seen, pages = [], 0
    while url is not None:
        page = await client.get(url)
        assert page.status_code == 200
        seen += [int(i) for i in re.findall(r'href="/assignments/(\d+)"', page.text)]
        pages += 1
        found = re.search(r'<a class="btn" rel="next" href="([^"]+)"', page.text)
        if pages > 1:
            assert "← 第一页" in page.text
        url = html.unescape(found.group(1)) if found else None
    return seen, pages, page.text


async def test_next_links_cover_every_row_once_in_order(login_as, seeded):
    staff = await login_as(UserRole.STAFF, department="fpb")
    first = await staff.client.get("/assignments")
    assert f"显示 {N} / {N} 项，本页 {PAGE_SIZE} 项" in first.text
    seen, pages, _ = await _walk(staff.client, "/assignments")
    assert seen == seeded and pages == 2


async def test_a_filtered_inbox_pages_within_its_filter(login_as, seeded):
    staff = await login_as(UserRole.STAFF, department="fpb")
    co = [aid for n, aid in enumerate(seeded) if n % 3 == 0]
    seen, pages, _ = await _walk(staff.client, "/assignments?role=co")
    assert seen == co and pages == 1  # 21 rows: one page, no pager
    fragment = await staff.client.get("/assignments?q=翻页任务", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'rel="next"' in fragment.text


async def test_a_cursor_not_of_the_inbox_is_refused(login_as, seeded):
    staff = await login_as(UserRole.STAFF, department="fpb")
    for cursor in ("bm90LWpzb24", "WyJhIl0"):  # not JSON; ["a"]
        page = await staff.client.get(f"/assignments?cursor={cursor}")
        assert page.status_code == 422
