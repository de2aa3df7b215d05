"""The cockpit fits one screen however many departments and tasks there are, and drills down."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from duban.db import utcnow
from duban.domain import UserRole
from tests.workspace import make_assignment, make_department, make_policy


def _wide(db: sessionmaker[Session], n: int = 20) -> None:
    """n departments, each with a task whose first period fell due a week ago."""
    items = [{"number": i, "title": f"第{i}项任务"} for i in range(1, n + 1)]
    with db.begin() as s:
        policy = make_policy(s, items=items)
        for i in range(1, n + 1):
            dept = make_department(s, f"w{i:02d}", f"单位{i:02d}")
            due = utcnow() - timedelta(days=7)
            make_assignment(s, policy=policy, department=dept, item_number=i, due_at=due, periods=1)


async def test_cockpit_shows_the_worst_rows_and_links_to_all(db, login_as):
    _wide(db)
    sup = await login_as(UserRole.SUPERVISOR)
    page = (await sup.client.get("/cockpit")).text
    assert page.count('href="/board?department=') == 6
    assert page.count('href="/board?policy=') == 6
    assert 'href="/board?view=department">全部 20 个责任单位' in page
    assert 'href="/board?view=task">全部 20 项任务' in page
    assert 'href="/board?light=red&amp;department=' in page  # overdue rows drill to red
