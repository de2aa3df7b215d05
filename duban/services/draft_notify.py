"""Tell every department of a published draft about the assignments it was just given (交办通知)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.domain import UserRole
from duban.models import Assignment, Notification, Policy, PolicyItem, PolicyVersion, User
from duban.services.policy import SEE_PENDING

DEPARTMENT_ROLES = (str(UserRole.STAFF), str(UserRole.HEAD))


def assignment_ids(*, session: Session, policy_key: str) -> set[int]:
    """Return the ids of every assignment the policy has now (none for a new policy)."""
    stmt = (
        select(Assignment.id)
        .join(Policy)
        .where(Policy.key == policy_key)
        .execution_options(**{SEE_PENDING: True})  # published rows are told before they start
    )
    return set(session.scalars(stmt))


def notify_new_assignments(*, session: Session, policy_id: int, before: Collection[int]) -> int:
    """Add one in-app notification per department user for each assignment not in `before`."""
    policy = session.get_one(Policy, policy_id)
    titles = _titles(session, policy)
    added = 0
    rows = session.scalars(
        select(Assignment)
        .where(Assignment.policy_id == policy_id, Assignment.removed_in_version.is_(None))
        .execution_options(**{SEE_PENDING: True})
    )
    for assignment in rows:
        if assignment.id in before:
            continue
        role = "牵头" if assignment.role == "lead" else "配合"
        title = f"新交办任务（{role}）：{titles.get(assignment.item_number, '')}"
        added += _notify_department(session, assignment, title[:500], policy.title)
    session.flush()
    return added


def _titles(session: Session, policy: Policy) -> dict[int, str]:
    stmt = (
        select(PolicyItem.number, PolicyItem.title)
        .join(PolicyVersion)
        .where(
            PolicyVersion.policy_id == policy.id, PolicyVersion.version == policy.current_version
        )
    )
    return {int(number): str(title) for number, title in session.execute(stmt)}


def _notify_department(session: Session, assignment: Assignment, title: str, body: str) -> int:
    users = session.scalars(
        select(User).where(
            User.department_id == assignment.department_id,
            User.is_active.is_(True),
            User.role.in_(DEPARTMENT_ROLES),
        )
    )
    count = 0
    for user in users:
        key = f"assigned:{assignment.id}:{user.id}"
        if session.scalar(select(Notification.id).where(Notification.key == key)) is None:
            session.add(
                Notification(
                    key=key,
                    user_id=user.id,
                    kind="assigned",
                    title=title,
                    body=body[:2000],
                    link=f"/assignments/{assignment.id}",
                    assignment_id=assignment.id,
                )
            )
            count += 1
    return count
