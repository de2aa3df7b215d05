"""The conversation of an assignment: messages with @mentions and attachments, 催办, 批示."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from duban.domain import DEPARTMENT_ROLES, UserRole
from duban.errors import Conflict, Forbidden, Invalid
from duban.models import Assignment, AssignmentMessage, Notification, User
from duban.rules import urge_refusal
from duban.services.assignment import can_view, in_remit
from duban.services.audit import record_event
from duban.services.evidence import check_evidence_ids

MESSAGE_MAX_CHARS = 2_000
MENTION = re.compile(r"@([A-Za-z0-9_.\-]{1,64})")
SUPERVISION_KINDS = ("message", "urge", "instruction")
KIND_LABELS = {"message": "留言", "urge": "催办", "instruction": "领导批示"}


def may_talk(session: Session, user: User, assignment: Assignment) -> bool:
    """Tell whether the user takes part: the department, the supervisors, a leader in remit."""
    if user.role in DEPARTMENT_ROLES:
        return user.department_id == assignment.department_id
    if user.role == UserRole.SUPERVISOR:
        return True
    return in_remit(session, user, assignment.department_id)


def check_body(body: str) -> str:
    """Return the stripped text, or raise Invalid when empty or too long."""
    body = (body or "").strip()
    if not body:
        raise Invalid("请填写内容。")
    if len(body) > MESSAGE_MAX_CHARS:
        raise Invalid(f"内容不能超过 {MESSAGE_MAX_CHARS} 字（当前 {len(body)} 字）。")
    return body


def mentioned(session: Session, assignment: Assignment, body: str) -> list[User]:
    """Return the active users named as @username who may see the assignment (others ignored)."""
    names = list(dict.fromkeys(MENTION.findall(body)))
    if not names:
        return []
    users = session.scalars(
        select(User).where(User.username.in_(names), User.is_active.is_(True)).order_by(User.id)
    )
    return [u for u in users if may_talk(session, u, assignment) or can_view(u, assignment)]


def department_audience(session: Session, assignment: Assignment) -> list[User]:
    """Return who hears for the department: its named assignee and heads, else all its members."""
    roles = [str(r) for r in DEPARTMENT_ROLES]
    members = session.scalars(
        select(User)
        .where(
            User.department_id == assignment.department_id,
            User.is_active.is_(True),
            User.role.in_(roles),
        )
        .order_by(User.id)
    ).all()
    if assignment.assignee_id is None:
        return list(members)
    return [u for u in members if u.id == assignment.assignee_id or u.role == UserRole.HEAD]


def supervisors(session: Session) -> list[User]:
    """Return the active supervisors."""
    stmt = select(User).where(User.role == UserRole.SUPERVISOR, User.is_active.is_(True))
    return list(session.scalars(stmt.order_by(User.id)))


def tell(
    session: Session,
    users: Iterable[User],
    *,
    assignment: Assignment,
    key: str,
    kind: str,
    title: str = "",
    body: str = "",
    code: str = "",
    params: dict[str, str | int | None] | None = None,
) -> int:
    """Add one in-app notification per user (each once per key); return how many were added.

    Give a `code` of duban.messages.NOTICE_TEXTS and its `params` (the text is rendered for
    each reader), or a plain `title`.
    """
    added = 0
    for user in {u.id: u for u in users}.values():
        note_key = f"{key}:{user.id}"
        if session.scalar(select(Notification.id).where(Notification.key == note_key)):
            continue
        session.add(
            Notification(
                key=note_key,
                user_id=user.id,
                kind=kind,
                title=title[:500],
                body=body,
                code=code,
                params=dict(params or {}) if code else None,
                link=f"/assignments/{assignment.id}#conversation",
                assignment_id=assignment.id,
            )
        )
        added += 1
    session.flush()
    return added


def about(assignment: Assignment, person: User) -> dict[str, str | int | None]:
    """Return the parameters of a notice about an assignment, from a person."""
    return {
        "item": assignment.item_number,
        "department": assignment.department.code,
        "person": person.display_name or person.username,
    }


def post_message(
    *,
    session: Session,
    assignment: Assignment,
    author: User,
    body: str,
    evidence_ids: list[int] | None = None,
    kind: str = "message",
) -> AssignmentMessage:
    """Add a message to the conversation, audit it and tell the other side and those @named."""
    if not may_talk(session, author, assignment):
        raise Forbidden("您不能在该事项的会话中留言。")
    body = check_body(body)
    ids = check_evidence_ids(
        session=session, assignment_id=assignment.id, evidence_ids=evidence_ids or []
    )
    named = [u for u in mentioned(session, assignment, body) if u.id != author.id]
    message = AssignmentMessage(
        assignment_id=assignment.id,
        author_id=author.id,
        kind=kind,
        body=body,
        evidence_ids=ids,
        mentioned_ids=[u.id for u in named],
    )
    session.add(message)
    session.flush()
    data = {"message_id": message.id, "message": body, "evidence_ids": ids}
    data["mentioned"] = [u.username for u in named]
    record_event(session=session, kind=kind, actor=author, data=data, assignment_id=assignment.id)
    _announce(session, assignment, author, message, named)
    return message


def _announce(
    session: Session,
    assignment: Assignment,
    author: User,
    message: AssignmentMessage,
    named: list[User],
) -> None:
    """Tell the other side of the conversation, then those @named (who may be on either side)."""
    kind = message.kind if message.kind in KIND_LABELS else "message"
    if author.role in DEPARTMENT_ROLES:
        others = supervisors(session)
    else:
        others = department_audience(session, assignment)
        if message.kind == "instruction":
            others += supervisors(session)
    others = [u for u in others if u.id != author.id and u not in named]
    tell(
        session,
        others,
        assignment=assignment,
        key=f"{message.kind}:{message.id}",
        kind=message.kind,
        body=message.body,
        code=f"conversation_{kind}",
        params=about(assignment, author),
    )
    tell(
        session,
        named,
        assignment=assignment,
        key=f"mention:{message.id}",
        kind="mention",
        body=message.body,
        code="mention",
        params=about(assignment, author),
    )


def messages_of(*, session: Session, assignment_id: int) -> list[AssignmentMessage]:
    """Return the conversation of an assignment, oldest first."""
    stmt = select(AssignmentMessage).where(AssignmentMessage.assignment_id == assignment_id)
    return list(session.scalars(stmt.order_by(AssignmentMessage.id)))


def last_urge(*, session: Session, assignment_id: int) -> AssignmentMessage | None:
    """Return the latest 催办 of an assignment, if any."""
    stmt = select(AssignmentMessage).where(
        AssignmentMessage.assignment_id == assignment_id, AssignmentMessage.kind == "urge"
    )
    return session.scalars(stmt.order_by(AssignmentMessage.id.desc()).limit(1)).first()


def claim_urge(
    *, session: Session, assignment: Assignment, author: User, message: str, now: datetime
) -> AssignmentMessage:
    """Record a 催办 unless one is within the cooldown (then Conflict with when it may be sent).

    The assignment row is locked (PostgreSQL) so two clicks at once record one urge; the
    workflow's signal then notifies the department and writes the timeline.
    """
    session.scalar(select(Assignment.id).where(Assignment.id == assignment.id).with_for_update())
    previous = last_urge(session=session, assignment_id=assignment.id)
    refusal = urge_refusal(previous.created_at if previous else None, now=now)
    if refusal is not None:
        raise Conflict(refusal.message, code=refusal.code)
    row = AssignmentMessage(
        assignment_id=assignment.id,
        author_id=author.id,
        kind="urge",
        body=message,
        evidence_ids=[],
        mentioned_ids=[],
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def withdraw_urge(*, session: Session, message_id: int) -> None:
    """Forget a 催办 whose signal never reached the workflow, so it may be sent again."""
    row = session.get(AssignmentMessage, message_id)
    if row is not None and row.kind == "urge":
        session.delete(row)
        session.flush()


def last_urges(*, session: Session, assignment_ids: list[int]) -> dict[int, AssignmentMessage]:
    """Return the latest 催办 of each given assignment (for the board)."""
    if not assignment_ids:
        return {}
    newest = (
        select(func.max(AssignmentMessage.id))
        .where(
            AssignmentMessage.kind == "urge",
            AssignmentMessage.assignment_id.in_(assignment_ids),
        )
        .group_by(AssignmentMessage.assignment_id)
    )
    rows = session.scalars(select(AssignmentMessage).where(AssignmentMessage.id.in_(newest)))
    return {m.assignment_id: m for m in rows}
