"""Sub-assignments (转办/分解): splitting an assignment down the tree, its roll-up and waivers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.db import utcnow
from duban.domain import (
    DEPARTMENT_ROLES,
    AssignmentRole,
    AssignmentState,
    UserRole,
    assignment_workflow_id,
)
from duban.errors import CodedConflict, CodedInvalid, Conflict, Forbidden, Invalid
from duban.models import Assignment, Department, User
from duban.rules import (
    DONE_STATES,
    Refusal,
    cascade_submit_refusal,
    child_due_refusal,
    child_open,
    share_refusal,
)
from duban.services.audit import record_event
from duban.services.orgtree import split_scope


@dataclass(frozen=True)
class SubSpec:
    """What a department asks for: the unit below it, a due date and a share of the targets."""

    department_code: str
    due_at: datetime
    share: int = 0


@dataclass(frozen=True)
class Rollup:
    """How an assignment's sub-assignments stand, and whether the parent may report as done."""

    children: list[Assignment]
    open_names: list[str]
    done: int
    reported: int
    shares: int
    waived: bool
    refusal: Refusal | None

    @property
    def blocked_reason(self) -> str:
        """Return why submitting as done is blocked now, or ""."""
        return self.refusal.message if self.refusal is not None else ""


def _raise(refusal: Refusal | None) -> None:
    if refusal is None:
        return
    if refusal.code == "conflict":
        raise Conflict(refusal.message)
    raise CodedInvalid(refusal.message, code=refusal.code)


def children_of(*, session: Session, assignment_id: int) -> list[Assignment]:
    """Return the sub-assignments split from this assignment, by department code."""
    return list(
        session.scalars(
            select(Assignment)
            .join(Department, Department.id == Assignment.department_id)
            .where(Assignment.parent_id == assignment_id)
            .order_by(Department.code)
        ).unique()
    )


def is_final_period(assignment: Assignment) -> bool:
    """Tell whether the assignment's current period is its last (a report closes it)."""
    indexes = [p.index for p in assignment.periods]
    return not indexes or assignment.period_index >= max(indexes)


def rollup(*, session: Session, assignment: Assignment) -> Rollup:
    """Return the children, which are still open, and the rule on submitting the parent as done."""
    children = children_of(session=session, assignment_id=assignment.id)
    open_names = [c.department.name for c in children if child_open(c.state)]
    waived = assignment.cascade_waived_at is not None
    refusal = cascade_submit_refusal(
        final_period=is_final_period(assignment), open_children=open_names, waived=waived
    )
    return Rollup(
        children=children,
        open_names=open_names,
        done=sum(1 for c in children if c.state in DONE_STATES),
        reported=sum(1 for c in children if not child_open(c.state)),
        shares=sum(c.target_share or 0 for c in children),
        waived=waived,
        refusal=refusal,
    )


def check_can_submit(*, session: Session, assignment: Assignment) -> None:
    """Raise Conflict when the parent would be submitted as done while a child is open."""
    refusal = rollup(session=session, assignment=assignment).refusal
    if refusal is not None:
        raise CodedConflict(refusal.message, code=refusal.code)


def split_targets(*, session: Session, assignment: Assignment) -> list[Department]:
    """Return the units a department may split its assignment to: those below it in the tree."""
    taken = set(
        session.scalars(
            select(Assignment.department_id).where(
                Assignment.policy_id == assignment.policy_id,
                Assignment.item_number == assignment.item_number,
            )
        )
    )
    below = split_scope(session=session, department_id=assignment.department_id)
    return [d for d in below if d.id not in taken]


def _own(user: User, assignment: Assignment) -> None:
    if user.role not in DEPARTMENT_ROLES or user.department_id != assignment.department_id:
        raise Forbidden("只有承办单位可以分解本单位的任务。")


def create_sub_assignment(
    *, session: Session, parent: Assignment, spec: SubSpec, user: User, now: datetime
) -> Assignment:
    """Split `parent` into a sub-assignment for a unit below its department; audited on both."""
    _own(user, parent)
    if parent.state in DONE_STATES:
        raise Conflict("该任务已办结，不能再分解。")
    target = session.scalar(select(Department).where(Department.code == spec.department_code))
    if target is None:
        raise CodedInvalid(f"单位不存在：{spec.department_code}", code="unknown_department")
    scope = split_scope(session=session, department_id=parent.department_id)
    if target.id not in {d.id for d in scope}:
        raise CodedInvalid(
            f"“{target.name}”不是本单位的内设机构或下级单位（见组织树），不能分解给它。",
            code="not_below",
        )
    _raise(child_due_refusal(spec.due_at, now=now, parent_due_at=parent.due_at))
    clash = session.scalar(
        select(Assignment).where(
            Assignment.policy_id == parent.policy_id,
            Assignment.item_number == parent.item_number,
            Assignment.department_id == target.id,
        )
    )
    # A split whose workflow never started (Temporal went away after the row was stored) is
    # still hidden: the department's retry finishes it instead of being told it exists.
    resumed = clash is not None and clash.pending_start and clash.parent_id == parent.id
    if clash is not None and not resumed:
        raise Conflict(f"“{target.name}”已承担该任务，不能重复分解。")
    siblings = children_of(session=session, assignment_id=parent.id)
    others = sum(c.target_share or 0 for c in siblings if c is not clash)
    _raise(share_refusal(spec.share, others=others))
    if clash is not None:
        clash.due_at = clash.original_due_at = spec.due_at
        clash.target_share = spec.share
        session.flush()
        return clash
    child = Assignment(
        policy_id=parent.policy_id,
        item_number=parent.item_number,
        department_id=target.id,
        role=str(AssignmentRole.LEAD),
        as_written=target.name[:200],
        workflow_id=assignment_workflow_id(parent.policy.key, parent.item_number, target.code),
        state=str(AssignmentState.ASSIGNED),
        due_at=spec.due_at,
        original_due_at=spec.due_at,
        pending_start=True,
        parent_id=parent.id,
        target_share=spec.share,
    )
    session.add(child)
    session.flush()
    data = {
        "parent_id": parent.id,
        "child_id": child.id,
        "department": target.code,
        "due_at": spec.due_at.isoformat(),
        "share": spec.share,
    }
    record_event(
        session=session, kind="sub_assigned", actor=user, data=data, assignment_id=parent.id
    )
    record_event(
        session=session, kind="sub_assigned", actor=user, data=data, assignment_id=child.id
    )
    return child


def mark_child_started(*, session: Session, child_id: int) -> None:
    """Show the sub-assignment once its workflow's start is confirmed."""
    session.get_one(Assignment, child_id).pending_start = False
    session.flush()


def waive_children(
    *, session: Session, assignment: Assignment, user: User, reason: str
) -> Assignment:
    """Let the parent be submitted as done with children open (a supervisor's decision); audited."""
    if user.role != UserRole.SUPERVISOR:
        raise Forbidden("只有督查室可以豁免下级分解任务。")
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise Invalid("请填写豁免理由（不超过 500 字）。")
    if assignment.cascade_waived_at is not None:
        raise Conflict("已豁免过。")
    if not children_of(session=session, assignment_id=assignment.id):
        raise Conflict("该任务没有分解任务，无需豁免。")
    assignment.cascade_waived_at, assignment.cascade_waived_by_id = utcnow(), user.id
    session.flush()
    record_event(
        session=session,
        kind="cascade_waived",
        actor=user,
        data={"reason": reason},
        assignment_id=assignment.id,
    )
    return assignment
