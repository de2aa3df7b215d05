"""Plain factories for the department workspace tests: departments, a policy, assignments."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from duban.db import utcnow
from duban.domain import assignment_workflow_id
from duban.models import (
    Assignment,
    AssignmentPeriod,
    AuditEvent,
    Department,
    Policy,
    PolicyItem,
    PolicyVersion,
    User,
)
from duban.services.head_term import sync_head_term


def make_department(
    session: Session, code: str | None = None, name: str | None = None
) -> Department:
    """Add a department with a unique code and name."""
    code = code or f"d{uuid.uuid4().hex[:8]}"
    dept = Department(code=code, name=name or f"省{code}厅")
    session.add(dept)
    session.flush()
    return dept


def make_policy(
    session: Session, items: list[dict[str, Any]] | None = None, key: str | None = None
) -> Policy:
    """Add a policy with one version and the given items (number, label, title, body, section)."""
    key = key or f"p-{uuid.uuid4().hex[:8]}"
    policy = Policy(key=key, title="关于巩固拓展脱贫攻坚成果同乡村振兴有效衔接的实施意见")
    session.add(policy)
    session.flush()
    version = PolicyVersion(
        policy_id=policy.id,
        version=1,
        content_sha256=hashlib.sha256(key.encode()).hexdigest(),
        source_text="…",
        parsed={},
    )
    session.add(version)
    session.flush()
    for spec in items or [{"number": 5, "title": "保持主要帮扶政策总体稳定"}]:
        session.add(
            PolicyItem(
                version_id=version.id,
                number=spec["number"],
                label=spec.get("label", ""),
                section_number=spec.get("section", 2),
                section_title=spec.get("section_title", "建立健全巩固拓展脱贫攻坚成果长效机制"),
                title=spec["title"],
                body=spec.get("body", spec["title"] + "。过渡期内严格落实“四个不摘”要求。"),
                is_task=True,
            )
        )
    session.flush()
    return policy


def make_assignment(
    session: Session,
    *,
    policy: Policy,
    department: Department,
    item_number: int = 5,
    role: str = "lead",
    state: str = "assigned",
    due_at: datetime | None = None,
    periods: int = 2,
    **overrides: Any,
) -> Assignment:
    """Add an assignment with `periods` quarterly periods, the first due at `due_at`."""
    due = due_at or utcnow() + timedelta(days=30)
    assignment = Assignment(
        policy_id=policy.id,
        item_number=item_number,
        department_id=department.id,
        role=role,
        workflow_id=assignment_workflow_id(policy.key, item_number, department.code),
        state=state,
        due_at=due,
        original_due_at=due,
        **overrides,
    )
    session.add(assignment)
    session.flush()
    for index in range(periods):
        at = due + timedelta(days=91 * index)
        session.add(
            AssignmentPeriod(
                assignment_id=assignment.id,
                index=index,
                due_at=at,
                original_due_at=at,
                label=f"第{index + 1}期",
            )
        )
    session.flush()
    return assignment


def make_user(
    session: Session, role: str, department: Department | None = None, **overrides: Any
) -> User:
    """Add a user with a placeholder password hash."""
    user = User(
        username=overrides.pop("username", f"u{uuid.uuid4().hex[:8]}"),
        password_hash="!",
        role=role,
        display_name=overrides.pop("display_name", "测试用户"),
        department_id=department.id if department else None,
        **overrides,
    )
    session.add(user)
    session.flush()
    sync_head_term(session=session, user=user, at=user.created_at)
    return user


def add_event(
    session: Session, assignment: Assignment, kind: str, at: datetime, **data: Any
) -> AuditEvent:
    """Add one audit event to an assignment's timeline."""
    event = AuditEvent(
        key=uuid.uuid4().hex, kind=kind, at=at, assignment_id=assignment.id, data=data
    )
    session.add(event)
    session.flush()
    return event
