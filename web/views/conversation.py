"""What the assignment page shows of named people: the assignee, the conversation, 批示."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from duban.domain import UserRole
from duban.models import Assignment, User
from duban.services.assignee import members
from duban.services.conversation import KIND_LABELS, may_talk, messages_of
from duban.services.sign_off import held_report


def people_context(session: Session, user: User, assignment: Assignment) -> dict[str, Any]:
    """Return the conversation, who may write, the assignee and (for the head) the members."""
    is_head = user.role == UserRole.HEAD and user.department_id == assignment.department_id
    team = members(session=session, department_id=assignment.department_id)
    assignee = next((u for u in team if u.id == assignment.assignee_id), None)
    return {
        "messages": messages_of(session=session, assignment_id=assignment.id),
        "message_kinds": KIND_LABELS,
        "can_talk": may_talk(session, user, assignment),
        "is_head": is_head,
        "is_leader": user.role == UserRole.LEADER,
        "members": team if is_head else [],
        "assignee": assignee,
        "mine": assignment.assignee_id == user.id,
        "held": held_report(session=session, assignment=assignment),
        "head_sign_off": assignment.policy.head_sign_off,
    }
