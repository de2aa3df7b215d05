"""Named people within a department: the head hands an assignment to a member (承办人).

The rule: only the department's head (责任人) hands an assignment to a member or takes it back
to the whole unit; staff may not reassign. The named member sees it first in their inbox and
hears of every message for the department; the rest of the department still sees it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.domain import DEPARTMENT_ROLES, UserRole
from duban.errors import Forbidden, Invalid
from duban.models import Assignment, User
from duban.services.audit import record_event
from duban.services.conversation import about, tell


def members(*, session: Session, department_id: int) -> list[User]:
    """Return the active staff and heads of a department, by name."""
    roles = [str(r) for r in DEPARTMENT_ROLES]
    stmt = select(User).where(
        User.department_id == department_id, User.is_active.is_(True), User.role.in_(roles)
    )
    return list(session.scalars(stmt.order_by(User.display_name, User.username)))


def assign_member(
    *, session: Session, assignment: Assignment, head: User, assignee_id: int | None
) -> Assignment:
    """Hand the assignment to a member of its department (None: back to the whole unit)."""
    if head.role != UserRole.HEAD or head.department_id != assignment.department_id:
        raise Forbidden("只有本单位责任人可以指定承办人。")
    assignee = None
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if assignee is None or assignee not in members(
            session=session, department_id=assignment.department_id
        ):
            raise Invalid("承办人须为本单位在岗人员。")
    if assignment.assignee_id == assignee_id:
        return assignment
    assignment.assignee_id = assignee_id
    name = (assignee.display_name or assignee.username) if assignee else ""
    data = {"assignee_id": assignee_id, "assignee": name}
    event = record_event(
        session=session, kind="assignee_set", actor=head, data=data, assignment_id=assignment.id
    )
    if assignee is not None and assignee.id != head.id:
        tell(
            session,
            [assignee],
            assignment=assignment,
            key=f"assignee:{event.id}",
            kind="assigned_to_you",
            code="assigned_to_you",
            params=about(assignment, head),
        )
    session.flush()
    return assignment
