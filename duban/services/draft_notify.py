"""Tell every department of a published draft about the assignments it was just given (交办通知).

A document's and an ad-hoc task's (交办件, duban.services.adhoc) alike: each notice stores the code
`new_assignment` and its parameters, no text (duban.messages.NOTICE_TEXTS; rendered for its reader).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.domain import UserRole
from duban.models import Assignment, Notification, Policy, User
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
    added = 0
    rows = session.scalars(
        select(Assignment)
        .where(Assignment.policy_id == policy_id, Assignment.removed_in_version.is_(None))
        .execution_options(**{SEE_PENDING: True})
    )
    for assignment in rows:
        if assignment.id in before:
            continue
        added += _notify_department(session, assignment)
    session.flush()
    return added


def _notify_department(session: Session, assignment: Assignment) -> int:
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
                    title="",
                    code="new_assignment",
                    params={
                        "item": assignment.item_number,
                        "role": assignment.role,
                        "policy": assignment.policy_id,
                    },
                    link=f"/assignments/{assignment.id}",
                    assignment_id=assignment.id,
                )
            )
            count += 1
    return count
