"""Leaders (分管领导): the departments in their remit, and what is red there on one screen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from duban.domain import UserRole
from duban.errors import Invalid
from duban.models import Assignment, Department, LeaderDepartment, User
from duban.rules import Light, StatusLight, status_light
from duban.services.assignment import item_ref, item_title, select_with_item
from duban.services.audit import record_event


@dataclass(frozen=True)
class RedRow:
    """One overdue assignment in a leader's remit."""

    assignment: Assignment
    title: str
    ref: str
    light: StatusLight


def remit(*, session: Session, user: User) -> list[Department]:
    """Return the departments a leader oversees, by name."""
    stmt = (
        select(Department)
        .join(LeaderDepartment, LeaderDepartment.department_id == Department.id)
        .where(LeaderDepartment.user_id == user.id)
    )
    return list(session.scalars(stmt.order_by(Department.name)))


def set_remit(*, session: Session, leader: User, codes: list[str], actor: User | None) -> None:
    """Replace a leader's departments (admin); unknown codes are refused."""
    if leader.role != UserRole.LEADER:
        raise Invalid("只有分管领导账号可以关联分管单位。")
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    found = {
        d.code: d for d in session.scalars(select(Department).where(Department.code.in_(wanted)))
    }
    if missing := [c for c in wanted if c not in found]:
        raise Invalid(f"单位不存在：{', '.join(missing)}。")
    session.execute(delete(LeaderDepartment).where(LeaderDepartment.user_id == leader.id))
    for code in wanted:
        session.add(LeaderDepartment(user_id=leader.id, department_id=found[code].id))
    data = {"leader_id": leader.id, "departments": wanted}
    record_event(session=session, kind="leader_remit_set", actor=actor, data=data)
    session.flush()


def leaders_of(*, session: Session, department_id: int) -> list[User]:
    """Return the active leaders who oversee a department."""
    stmt = (
        select(User)
        .join(LeaderDepartment, LeaderDepartment.user_id == User.id)
        .where(
            LeaderDepartment.department_id == department_id,
            User.is_active.is_(True),
            User.role == UserRole.LEADER,
        )
    )
    return list(session.scalars(stmt.order_by(User.id)))


def red_in_remit(*, session: Session, user: User, now: datetime) -> list[RedRow]:
    """Return the overdue (red) assignments of the leader's departments, most escalated first."""
    ids = [d.id for d in remit(session=session, user=user)]
    if not ids:
        return []
    stmt = select_with_item().where(
        Assignment.department_id.in_(ids), Assignment.removed_in_version.is_(None)
    )
    rows = [
        RedRow(a, item_title(a, item), item_ref(a, item), light)
        for a, item in session.execute(stmt).unique()
        if (light := status_light(due_at=a.due_at, now=now, state=a.state)).color == Light.RED
    ]
    rows.sort(key=lambda r: (-r.assignment.escalation_level, r.assignment.due_at or now))
    return rows
