"""The department workspace read side: who may see what, and the assignment detail (the inbox is
duban.services.inbox)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, load_only

from duban.domain import DEPARTMENT_ROLES, AssignmentRole, UserRole
from duban.errors import Forbidden, NotFound
from duban.models import (
    Assignment,
    AssignmentPeriod,
    AuditEvent,
    Department,
    Evidence,
    Extension,
    LeaderDepartment,
    Policy,
    PolicyItem,
    PolicyVersion,
    Submission,
    User,
)
from duban.rules import DONE_STATES, Light, StatusLight, status_light, urgency_key
from duban.services.target import TargetTrack, first_miss, tracks_of

ITEM_NUMBER_DIGITS = 9
MAX_QUERY_CHARS = 100
ItemSelect = Select[Assignment, PolicyItem]
S = TypeVar("S", bound=Select[*tuple[Any, ...]])
__all__ = [
    "DONE_STATES",
    "Light",
    "StatusLight",
    "status_light",
    "urgency_key",
]


def select_with_item() -> ItemSelect:
    """Select assignments with the item of their policy's current version."""
    return with_item(select(Assignment, PolicyItem))


def select_with_title() -> ItemSelect:
    """Select assignments with the item of their policy's current version, its title and
    numbers alone (what `item_title` and `item_ref` read): a list of rows then parses no
    body and no JSON of units and deadlines (50 units on an item are 50 objects per row)."""
    title = load_only(PolicyItem.number, PolicyItem.label, PolicyItem.title)
    return select_with_item().options(title)


def with_item(stmt: S) -> S:
    """Join a select of assignments to their policy, department and current version's item."""
    item_join = and_(
        PolicyItem.version_id == PolicyVersion.id, PolicyItem.number == Assignment.item_number
    )
    version_join = and_(
        PolicyVersion.policy_id == Assignment.policy_id,
        PolicyVersion.version == Policy.current_version,
    )
    return (
        stmt.join(Policy, Policy.id == Assignment.policy_id)
        .join(Department, Department.id == Assignment.department_id)
        .outerjoin(PolicyVersion, version_join)
        .outerjoin(PolicyItem, item_join)
    )


def is_item_number(q: str) -> bool:
    """Tell whether a search is an item number: ASCII digits only, in the column's range."""
    # str.isdigit() also accepts "³" and other digits int() refuses, and a long run of
    # digits would overflow the integer column; both are searched as text instead.
    return q.isascii() and q.isdigit() and len(q) <= ITEM_NUMBER_DIGITS


def search(stmt: S, q: str) -> S:
    """Narrow by free text: an item number, or words in the title, body, policy or unit."""
    q = q.strip()[:MAX_QUERY_CHARS]
    if not q:
        return stmt
    if is_item_number(q):
        return stmt.where(Assignment.item_number == int(q))
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return stmt.where(
        or_(
            PolicyItem.title.ilike(pattern, escape="\\"),
            PolicyItem.body.ilike(pattern, escape="\\"),
            Policy.title.ilike(pattern, escape="\\"),
            Department.name.ilike(pattern, escape="\\"),
        )
    )


def item_title(assignment: Assignment, item: PolicyItem | None) -> str:
    """Return the title an assignment is known by."""
    return item.title if item is not None else f"第 {assignment.item_number} 项"


def item_ref(assignment: Assignment, item: PolicyItem | None) -> str:
    """Return the item's number as the policy writes it (（五）, 1.), else （n）."""
    if item is not None and item.label:
        return item.label
    return f"（{assignment.item_number}）"


def can_view(user: User, assignment: Assignment) -> bool:
    """Return whether the user may see this assignment (own department, or an oversight role)."""
    if user.role in DEPARTMENT_ROLES:
        return user.department_id == assignment.department_id
    return user.role in {UserRole.SUPERVISOR, UserRole.ASSESSOR, UserRole.ADMIN}


def in_remit(session: Session, user: User, department_id: int) -> bool:
    """Tell whether a leader (分管领导) has the department in their remit."""
    if user.role != UserRole.LEADER:
        return False
    stmt = select(LeaderDepartment.department_id).where(
        LeaderDepartment.user_id == user.id, LeaderDepartment.department_id == department_id
    )
    return session.scalar(stmt) is not None


def visible_assignment(*, session: Session, assignment_id: int, user: User) -> Assignment:
    """Return the assignment if the user may see it; otherwise raise NotFound."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or not (
        can_view(user, assignment)
        or in_remit(session, user, assignment.department_id)
        or split_by(session, user, assignment)
    ):
        raise NotFound("督办事项不存在，或不属于本单位。")
    return assignment


def split_by(session: Session, user: User, assignment: Assignment) -> bool:
    """Tell whether the user's department split this sub-assignment (at any level above it)."""
    if user.role not in DEPARTMENT_ROLES or user.department_id is None:
        return False
    seen: set[int] = set()
    parent_id = assignment.parent_id
    while parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        parent = session.get(Assignment, parent_id)
        if parent is None:
            return False
        if parent.department_id == user.department_id:
            return True
        parent_id = parent.parent_id
    return False


def owned_assignment(*, session: Session, assignment_id: int, user: User) -> Assignment:
    """Return the assignment if the user's department may act on it; otherwise raise."""
    assignment = visible_assignment(session=session, assignment_id=assignment_id, user=user)
    if user.role not in DEPARTMENT_ROLES:
        raise Forbidden("只有承办单位的工作人员可以办理此事项。")
    if user.department_id != assignment.department_id:
        raise Forbidden("上级单位可以查看分解任务，但不能代下级单位办理。")
    return assignment


def inbox_scope(user: User) -> int | None:
    """Return the department whose inbox the user sees, or None for everything."""
    if user.role == UserRole.LEADER:
        raise Forbidden("分管领导请在“分管事项”中查看分管单位的事项。")
    if user.role in DEPARTMENT_ROLES:
        if user.department_id is None:
            raise Forbidden("您的账号尚未关联单位，请联系管理员。")
        return user.department_id
    return None


@dataclass(frozen=True)
class AssignmentDetail:
    """Everything the assignment page shows."""

    assignment: Assignment
    item: PolicyItem | None
    title: str
    light: StatusLight
    partners: list[Assignment]
    periods: list[AssignmentPeriod]
    submissions: list[Submission]
    evidence: list[Evidence]
    extensions: list[Extension]
    timeline: list[AuditEvent]
    ref: str
    # For a lead: its co-organizers' reports, each on the co-organizer's own clock.
    co_reports: list[CoReport] = field(default_factory=list)
    # Its task's targets with the actuals reported against them and their projection.
    tracks: list[TargetTrack] = field(default_factory=list)


@dataclass(frozen=True)
class CoReport:
    """A co-organizer's report as its lead's page shows it."""

    department_name: str
    submission: Submission


def co_reports(*, session: Session, assignment: Assignment) -> list[CoReport]:
    """Return the reports of a lead's co-organizers on the same item, newest first."""
    if assignment.role != AssignmentRole.LEAD:
        return []
    rows = session.execute(
        select(Department.name, Submission)
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .join(Department, Department.id == Assignment.department_id)
        .where(
            Assignment.policy_id == assignment.policy_id,
            Assignment.item_number == assignment.item_number,
            Assignment.role == AssignmentRole.CO,
        )
        .order_by(Submission.submitted_at.desc(), Submission.id.desc())
    )
    return [CoReport(name, submission) for name, submission in rows]


def assignment_detail(
    *, session: Session, assignment: Assignment, now: datetime
) -> AssignmentDetail:
    """Return the item text, the other units, periods, submissions, evidence and the timeline."""
    row = session.execute(select_with_item().where(Assignment.id == assignment.id)).unique().one()
    item = row[1]
    partners = session.scalars(
        select(Assignment)
        .where(
            Assignment.policy_id == assignment.policy_id,
            Assignment.item_number == assignment.item_number,
            Assignment.id != assignment.id,
            Assignment.parent_id.is_(None),  # sub-assignments show under 转办分解, not here
        )
        .order_by(Assignment.role.desc(), Assignment.id)
    ).unique()
    aid = assignment.id
    tracks = tracks_of(session=session, assignments=[assignment], today=now.date())[aid]
    miss = first_miss(tracks)
    return AssignmentDetail(
        assignment=assignment,
        item=item,
        title=item_title(assignment, item),
        ref=item_ref(assignment, item),
        light=status_light(due_at=assignment.due_at, now=now, state=assignment.state, miss=miss),
        tracks=tracks,
        partners=list(partners),
        co_reports=co_reports(session=session, assignment=assignment),
        periods=list(
            session.scalars(
                select(AssignmentPeriod)
                .where(AssignmentPeriod.assignment_id == aid)
                .order_by(AssignmentPeriod.index)
            )
        ),
        submissions=list(
            session.scalars(
                select(Submission)
                .where(Submission.assignment_id == aid)
                .order_by(Submission.submitted_at, Submission.id)
            )
        ),
        evidence=list(
            session.scalars(
                select(Evidence).where(Evidence.assignment_id == aid).order_by(Evidence.id)
            )
        ),
        extensions=list(
            session.scalars(
                select(Extension)
                .where(Extension.assignment_id == aid)
                .order_by(Extension.requested_at, Extension.id)
            )
        ),
        timeline=list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.assignment_id == aid)
                .order_by(AuditEvent.at, AuditEvent.id)
            )
        ),
    )
