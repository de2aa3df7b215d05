"""Every page in Traditional script: no Simplified-only text left anywhere a reader sees it.

A text is Simplified-only where OpenCC's s2t would still change it: the page's text and the
attributes a reader meets (title, placeholder, aria-label, value) are checked segment by
segment. The seeded data is Simplified too, and is converted like the interface around it.
"""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import opencc
import pytest

from duban.db import utcnow
from duban.domain import UserRole
from duban.models import Escalation, Extension, Notification, Submission
from tests.workspace import add_event, make_assignment, make_department, make_policy

S2T = opencc.OpenCC("s2t")
TRADITIONAL = {"Accept-Language": "zh-TW"}
SHOWN_ATTRIBUTES = frozenset({"title", "placeholder", "aria-label", "alt", "value", "content"})


class _Text(HTMLParser):
    """Collect what a reader sees: text outside scripts and styles, and shown attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.segments: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        self.segments += [v for k, v in attrs if k in SHOWN_ATTRIBUTES and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.segments.append(data.strip())


def simplified_left(html: str) -> list[str]:
    """Return the segments of a page that s2t would still change.

    The language switch names the other script in that script (简体), as switches do.
    """
    parser = _Text()
    parser.feed(html)
    return [s for s in parser.segments if S2T.convert(s) != s and s != "简体"]


@pytest.fixture
def world(db):
    """One policy, two departments, an escalated, a submitted and an extended assignment."""
    now = utcnow()
    with db.begin() as s:
        policy = make_policy(
            s,
            items=[
                {"number": 5, "title": "保持主要帮扶政策总体稳定", "body": "支持对象项目审核"},
                {"number": 6, "title": "健全防止返贫动态监测和帮扶机制"},
            ],
        )
        fpb, czt = make_department(s, "fpb", "省扶贫办"), make_department(s, "czt", "省财政厅")
        late = make_assignment(
            s, policy=policy, department=fpb, due_at=now - timedelta(days=9), escalation_level=2
        )
        sent = make_assignment(s, policy=policy, department=czt, item_number=6, state="submitted")
        s.add(Escalation(assignment_id=late.id, period_index=0, level=2, reached_at=now))
        s.add(Submission(key="s1", assignment_id=sent.id, period_index=0, report="已完成。"))
        s.add(
            Extension(
                key="e1",
                assignment_id=late.id,
                period_index=0,
                requested_due_at=now + timedelta(days=30),
                reason="资金下达延迟",
            )
        )
        add_event(s, late, "acknowledged", now, comment="已签收")
        return {"late": late.id, "sent": sent.id, "fpb": fpb.id}


PAGES = {
    UserRole.STAFF: ["/", "/assignments", "/assignments/{late}", "/assessment/mine"],
    UserRole.SUPERVISOR: [
        "/board",
        "/board?view=department",
        "/board?view=task",
        "/board?view=heat",
        "/reviews",
        "/escalations",
        "/escalations?level=3",
        "/cockpit",
        "/notifications",
    ],
    UserRole.ASSESSOR: [
        "/assessment",
        "/assessment/departments/fpb",
        "/assessment/rubric",
        "/assessment/evaluations",
    ],
    UserRole.ADMIN: ["/", "/admin/users", "/admin/users/new", "/admin/departments", "/policies"],
}


@pytest.mark.parametrize("role", list(PAGES))
async def test_every_page_in_traditional_script(app, client, login_as, world, db, role):
    signed = await login_as(role, department="fpb" if role == UserRole.STAFF else None)
    with db.begin() as s:
        s.add(
            Notification(
                key=f"n-{role}",
                user_id=signed.user_id,
                kind="urge",
                title="督办催办：请尽快办理第5项任务",
                link=f"/assignments/{world['late']}",
                assignment_id=world["late"],
            )
        )
    left = {}
    for path in PAGES[role]:
        page = await signed.client.get(path.format(**world), headers=TRADITIONAL)
        assert page.status_code == 200, (path, page.status_code)
        if found := simplified_left(page.text):
            left[path] = found
    assert left == {}


async def test_login_page_in_traditional_script(client):
    page = await client.get("/login?lang=zh-TW")
    assert simplified_left(page.text) == []


async def test_inbox_title_is_traditional(login_as, world):
    staff = await login_as(UserRole.STAFF, department="fpb")
    page = (await staff.client.get("/assignments?lang=zh-TW")).text
    assert "<title>任務收件箱 · 督辦</title>" in page


def test_the_check_finds_simplified_text():
    """The check itself finds Simplified text and passes Traditional."""
    assert simplified_left("<p>任务收件箱</p><input placeholder='选择'>") == ["任务收件箱", "选择"]
    assert simplified_left("<p>任務收件箱</p><script>var 任务;</script>") == []
