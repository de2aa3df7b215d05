"""A small published task-division plan with a collective unit, for the cascade tests."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.models import Assignment, Department, User
from duban.services.department import sync_departments
from duban.services.draft import Actor, create_draft, publish_draft
from duban.services.user import create_user
from policies.units import load_registry

PLAN = """吉林省乡村建设行动任务分工方案
（2026年11月1日）
一、重点任务
（一）推进乡村建设。2027年12月底前完成全省村庄规划编制。（省扶贫办牵头，各市（州）人民政府配合）
（二）加强技能培训。2027年6月底前完成。（省人社厅负责）
"""
CLERK = Actor(user_id=None, label="王科员")
PASSWORD = "pw-123456"
PARENT_DUE = datetime(2027, 6, 30, 15, 59, 59, tzinfo=UTC)


def publish_plan(session: Session, text: str = PLAN) -> int:
    """Publish the plan (its unknown-unit doubts accepted); return the policy id."""
    sync_departments(session=session, registry=load_registry())
    draft = create_draft(session=session, text=text, source_name="cascade.txt", actor=CLERK)
    published = publish_draft(
        session=session, draft_id=draft.id, lock_version=None, actor=CLERK, accept_doubts=True
    )
    return published.policy_id


def assignment_of(session: Session, policy_id: int, item: int, code: str) -> Assignment:
    """Return the assignment of one item for the department `code`."""
    return session.scalars(
        select(Assignment)
        .join(Department, Department.id == Assignment.department_id)
        .where(Assignment.policy_id == policy_id, Assignment.item_number == item)
        .where(Department.code == code)
    ).one()


def user_of(session: Session, username: str, role: str, code: str | None = None) -> User:
    """Create an account of a role in a department."""
    return create_user(
        session=session, username=username, password=PASSWORD, role=role, department_code=code
    )
