"""Items are named as the policy numbers them: its own label (（五）), else （n）, on every page."""

from __future__ import annotations

from datetime import timedelta

import pytest

from duban.db import utcnow
from duban.domain import UserRole
from duban.models import Escalation, Extension, Submission
from tests.workspace import make_assignment, make_department, make_policy

ITEMS = [
    {"number": 5, "label": "（五）", "title": "保持主要帮扶政策总体稳定"},
    {"number": 6, "title": "健全防止返贫动态监测和帮扶机制"},
]
LABELLED = "（五）保持主要帮扶政策总体稳定"
UNLABELLED = "（6）健全防止返贫动态监测和帮扶机制"


@pytest.fixture
def seeded(db):
    """Item 5 labelled （五）, item 6 without a label; a rung, a submission and an extension."""
    now = utcnow()
    with db.begin() as s:
        policy = make_policy(s, items=ITEMS)
        fpb, czt = make_department(s, "fpb", "省扶贫办"), make_department(s, "czt", "省财政厅")
        late = make_assignment(
            s, policy=policy, department=fpb, due_at=now - timedelta(days=9), escalation_level=1
        )
        sent = make_assignment(s, policy=policy, department=czt, state="submitted", due_at=now)
        other = make_assignment(s, policy=policy, department=fpb, item_number=6)
        s.add(Escalation(assignment_id=late.id, period_index=0, level=1, reached_at=now))
        s.add(Submission(key="sub-1", assignment_id=sent.id, period_index=0, report="已完成。"))
        s.add(
            Extension(
                key="ext-1",
                assignment_id=other.id,
                period_index=0,
                requested_due_at=now + timedelta(days=40),
                reason="资金下达延迟",
            )
        )
        return {"late": late.id, "other": other.id}


@pytest.mark.parametrize("path", ["/assignments", "/board", "/reviews", "/escalations"])
async def test_lists_show_the_label_and_fall_back_to_the_number(login_as, seeded, path):
    sup = await login_as(UserRole.SUPERVISOR)
    page = await sup.client.get(path)
    assert page.status_code == 200
    assert LABELLED in page.text
    assert "（5）" not in page.text
    if path != "/escalations":  # only item 5 has a rung
        assert UNLABELLED in page.text


async def test_assignment_page_titles_the_item_by_its_label(login_as, seeded):
    staff = await login_as(UserRole.STAFF, department="fpb")
    labelled = await staff.client.get(f"/assignments/{seeded['late']}")
    unlabelled = await staff.client.get(f"/assignments/{seeded['other']}")
    assert f"<h1>{LABELLED}</h1>" in labelled.text
    assert f"<h1>{UNLABELLED}</h1>" in unlabelled.text


async def test_board_task_groups_and_filter_use_the_label(login_as, seeded):
    sup = await login_as(UserRole.SUPERVISOR)
    page = await sup.client.get("/board?view=task")
    assert page.status_code == 200
    assert f"<h2>{LABELLED}</h2>" in page.text and f"<h2>{UNLABELLED}</h2>" in page.text
    assert f">{LABELLED}</option>" in page.text
