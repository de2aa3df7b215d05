"""In-app notifications: writing them for an audience, the bell, marking read, and the rows of a digest."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from duban.domain import UserRole
from duban.errors import Invalid
from duban.messages import NotifyInput
from duban.models import Assignment, Notification, User
from duban.script import SIMPLIFIED, to_script
from duban.services.assignment import select_with_item
from duban.services.leader import leaders_of
from duban.services.notice_text import Names, NoticeView, names_for, task_name, view, views

AUDIENCES = {
    "department": (UserRole.STAFF, UserRole.HEAD),
    "head": (UserRole.HEAD,),
    "supervisors": (UserRole.SUPERVISOR,),
}


@dataclass(frozen=True)
class Digest:
    """One person's unsent notifications, to go out as one mail (in the person's script)."""

    user_id: int
    email: str
    name: str
    notification_ids: tuple[int, ...]
    lines: tuple[str, ...]
    locale: str = SIMPLIFIED


@dataclass(frozen=True)
class Mail:
    """One notification to mail to its reader, rendered in the reader's script."""

    notification_id: int
    email: str
    subject: str
    body: str


def list_for_user(
    *,
    session: Session,
    user_id: int,
    unread_only: bool = False,
    limit: int = 20,
    locale: str = SIMPLIFIED,
) -> list[NoticeView]:
    """Return a user's newest notifications as the user reads them."""
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    notes = session.scalars(stmt.order_by(Notification.id.desc()).limit(limit)).all()
    return views(session, notes, locale)


def unread_count(*, session: Session, user_id: int) -> int:
    """Return how many notifications the user has not read."""
    stmt = select(func.count()).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return int(session.scalar(stmt) or 0)


def mark_read(
    *, session: Session, user_id: int, at: datetime, ids: Sequence[int] | None = None
) -> int:
    """Mark the user's notifications (all, or `ids`) read; another user's ids are ignored."""
    stmt = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(list(ids)))
    result: CursorResult[tuple[()]] = session.execute(stmt.values(read_at=at))  # type: ignore[assignment]
    return result.rowcount or 0


def pending_digests(*, session: Session) -> list[Digest]:
    """Return one digest per active user with an e-mail address, digest on, and unsent rows."""
    rows = session.execute(
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(
            Notification.emailed_at.is_(None),
            User.is_active.is_(True),
            User.digest_email.is_(True),
            User.email.is_not(None),
        )
        .order_by(User.id, Notification.id)
    ).all()
    grouped: dict[int, list[tuple[Notification, User]]] = defaultdict(list)
    for note, user in rows:
        grouped[user.id].append((note, user))
    names = names_for(session, [note for note, _ in rows])
    return [_digest(pairs, names) for pairs in grouped.values()]


def _digest(pairs: list[tuple[Notification, User]], names: Names) -> Digest:
    user = pairs[0][1]
    locale = user.locale or SIMPLIFIED
    shown = [view(n, names, locale) for n, _ in pairs]
    return Digest(
        user_id=user.id,
        email=user.email or "",
        name=user.display_name or user.username,
        notification_ids=tuple(n.id for n, _ in pairs),
        lines=tuple(f"· {n.title}" + (f"\n  {n.body}" if n.body else "") for n in shown),
        locale=locale,
    )


def mark_emailed(*, session: Session, ids: Sequence[int], at: datetime) -> int:
    """Record that these notifications went out in a digest."""
    stmt = update(Notification).where(
        Notification.id.in_(list(ids)), Notification.emailed_at.is_(None)
    )
    result: CursorResult[tuple[()]] = session.execute(stmt.values(emailed_at=at))  # type: ignore[assignment]
    return result.rowcount or 0


def render_digest(digest: Digest, *, base_url: str) -> tuple[str, str]:
    """Return the subject and plain-text body of a digest mail."""
    subject = f"【督办】您有 {len(digest.notification_ids)} 条新通知"
    text = "\n".join(
        [
            f"{digest.name}，您好：",
            "",
            "以下是自上次摘要以来的督办通知：",
            "",
            *digest.lines,
            "",
            f"请登录督办系统查看：{base_url}",
            "",
            "（本邮件由系统每日汇总发送，可在个人设置中关闭。）",
        ]
    )
    return to_script(subject, digest.locale), to_script(text, digest.locale)


def unmailed(*, session: Session, key: str) -> list[int]:
    """Return the ids of a notice's rows (one per reader) not yet mailed to an address."""
    return list(
        session.scalars(
            select(Notification.id)
            .join(User, User.id == Notification.user_id)
            .where(
                Notification.key.startswith(f"{key}:", autoescape=True),
                Notification.emailed_at.is_(None),
                User.email.is_not(None),
            )
            .order_by(Notification.id)
        )
    )


def mail_of(*, session: Session, notification_id: int) -> Mail | None:
    """Return the mail of one notification in its reader's script; None once it was mailed."""
    note = session.get_one(Notification, notification_id)
    user = session.get_one(User, note.user_id)
    if note.emailed_at is not None or not user.email:
        return None
    shown = view(note, names_for(session, [note]), user.locale or SIMPLIFIED)
    subject = to_script("【督办】", user.locale) + shown.title
    return Mail(note.id, user.email, subject, shown.body)


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def set_preferences(
    *, session: Session, user: User, email: str | None = None, digest_email: bool | None = None
) -> User:
    """Change one's own mail address ("" clears it) and daily-digest switch; None keeps a field."""
    if email is not None:
        address = email.strip()
        if address and (len(address) > 254 or not EMAIL_RE.match(address)):
            raise Invalid("电子邮箱格式不正确。")
        user.email = address or None
    if digest_email is not None:
        user.digest_email = digest_email
    session.flush()
    return user


def readable(text: str, *, session: Session, assignment: Assignment) -> str:
    """Name the task by its number as written and title, and the department by its name.

    Runs recorded before notice codes write "第9项任务（jl-jyt）" as text; a reader knows
    "（九）健全…" and "省教育厅".
    """
    row = session.execute(select_with_item().where(Assignment.id == assignment.id)).first()
    item = row[1] if row is not None else None
    if item is not None:
        text = text.replace(f"第{assignment.item_number}项任务", task_name(assignment, item))
    dept = assignment.department
    return text.replace(f"（{dept.code}）", f"（{dept.name}）")


def add_notifications(session: Session, inp: NotifyInput) -> list[Notification]:
    """Add the in-app notification of every active user of the audience not yet told; flush."""
    assignment = session.get_one(Assignment, inp.assignment_id)
    if not inp.code:  # text from a run recorded before notice codes
        inp = replace(inp, title=readable(inp.title, session=session, assignment=assignment))
    users = _audience(session, assignment, inp.audience)
    if inp.kind == "escalation_l3":  # the top rung reaches the leaders of the department too
        users += leaders_of(session=session, department_id=assignment.department_id)
    if inp.kind == "escalation_l1" and assignment.parent_id is not None:
        # A sub-assignment's first rung reaches the department that split it; the supervisors next.
        users += _parent_department(session, assignment.parent_id)
    added = [note for user in users if (note := _add_once(session, inp, user)) is not None]
    session.flush()
    return added


def _parent_department(session: Session, parent_id: int) -> list[User]:
    parent = session.get_one(Assignment, parent_id)
    roles = [str(r) for r in AUDIENCES["department"]]
    stmt = select(User).where(
        User.is_active.is_(True), User.role.in_(roles), User.department_id == parent.department_id
    )
    return list(session.scalars(stmt.order_by(User.id)))


def _audience(session: Session, assignment: Assignment, audience: str) -> list[User]:
    roles = [str(r) for r in AUDIENCES[audience]]
    stmt = select(User).where(User.is_active.is_(True), User.role.in_(roles))
    if audience != "supervisors":
        stmt = stmt.where(User.department_id == assignment.department_id)
    return list(session.scalars(stmt.order_by(User.id)))


def _add_once(session: Session, inp: NotifyInput, user: User) -> Notification | None:
    key = f"{inp.key}:{user.id}"
    if session.scalar(select(Notification.id).where(Notification.key == key)) is not None:
        return None
    note = Notification(
        key=key,
        user_id=user.id,
        kind=inp.kind,
        title=inp.title[:500],
        body=inp.body,
        code=inp.code,
        params=dict(inp.params) if inp.code else None,
        link=f"/assignments/{inp.assignment_id}",
        assignment_id=inp.assignment_id,
    )
    session.add(note)
    return note
