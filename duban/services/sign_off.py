"""Head sign-off: the per-policy switch and the report a head is asked to sign off."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.domain import AssignmentState
from duban.errors import NotFound
from duban.models import Assignment, AuditEvent, Policy, User
from duban.services.audit import record_event


def set_head_sign_off(*, session: Session, policy_id: int, on: bool, actor: User) -> Policy:
    """Turn the policy's head sign-off on or off (reports already held stay held); audit it."""
    policy = session.get(Policy, policy_id)
    if policy is None:
        raise NotFound("政策文件不存在。")
    if policy.head_sign_off != on:
        policy.head_sign_off = on
        data = {"policy_id": policy.id, "head_sign_off": on}
        record_event(session=session, kind="policy_head_sign_off_set", actor=actor, data=data)
    session.flush()
    return policy


def held_report(*, session: Session, assignment: Assignment) -> dict[str, Any] | None:
    """Return the report waiting for the head's sign-off (report, evidence ids, who), if any."""
    if assignment.state != AssignmentState.HEAD_REVIEW:
        return None
    event = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.assignment_id == assignment.id,
            AuditEvent.kind == "submitted_for_sign_off",
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if event is None:
        return None
    return {**event.data, "actor": event.actor_label, "at": event.at}
