"""Notification activities: in-app messages to the right people, mailed at once when urgent."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from duban.db import utcnow
from duban.domain import UserRole
from duban.mailer import Mailer
from duban.models import Assignment, Notification, User
from duban.services.assignment import item_ref, item_title, select_with_item
from duban.services.leader import leaders_of

log = logging.getLogger(__name__)

AUDIENCES = {
    "department": (UserRole.STAFF, UserRole.HEAD),
    "head": (UserRole.HEAD,),
    "supervisors": (UserRole.SUPERVISOR,),
}
TITLE_CHARS = 24
URGENT_KINDS = frozenset({"escalation_l1", "escalation_l2", "escalation_l3", "urge"})


@dataclass(frozen=True)
class NotifyInput:
    """A message about one assignment to an audience (`department`, `head` or `supervisors`)."""

    key: str
    assignment_id: int
    kind: str
    audience: str
    title: str
    body: str = ""


class NotifyActivities:
    """Write notifications (one row per recipient, idempotent by key) and mail urgent ones."""

    def __init__(
        self, session_factory: sessionmaker[Session], mailer: Mailer | None = None
    ) -> None:
        self.session_factory = session_factory
        self.mailer = mailer

    @activity.defn
    def notify(self, inp: NotifyInput) -> int:
        """Notify every active user of the audience; mail urgent ones; return rows added.

        A failed mail fails the activity, and its retry mails what is still unmailed: the
        rows are selected by key and `emailed_at is null`, not by what this attempt added.
        """
        with self.session_factory.begin() as session:
            added = len(add_notifications(session, inp))
        if self.mailer is not None and inp.kind in URGENT_KINDS:
            self._mail(inp.key)
        return added

    def _mail(self, key: str) -> None:
        """Send the notification's unmailed rows, marking each as sent so no retry sends it twice."""
        assert self.mailer is not None
        with self.session_factory() as session:
            ids = session.scalars(
                select(Notification.id)
                .join(User, User.id == Notification.user_id)
                .where(
                    Notification.key.startswith(f"{key}:", autoescape=True),
                    Notification.emailed_at.is_(None),
                    User.email.is_not(None),
                )
                .order_by(Notification.id)
            ).all()
        for note_id in ids:
            self._mail_one(note_id)

    def _mail_one(self, note_id: int) -> None:
        assert self.mailer is not None
        with self.session_factory.begin() as session:
            note = session.get_one(Notification, note_id)
            email = session.get_one(User, note.user_id).email or ""
            # A worker thread has no running loop, so one short-lived loop per mail is fine.
            asyncio.run(self.mailer.send(email, f"【督办】{note.title}", note.body))
            note.emailed_at = utcnow()


def readable(text: str, *, session: Session, assignment: Assignment) -> str:
    """Name the task by its number as written and title, and the department by its name.

    Workflows write "第9项任务（jl-jyt）"; a reader knows "（九）健全…" and "省教育厅".
    """
    row = session.execute(select_with_item().where(Assignment.id == assignment.id)).first()
    item = row[1] if row is not None else None
    title = item_title(assignment, item)
    short = title if len(title) <= TITLE_CHARS else title[:TITLE_CHARS] + "…"
    named = f"任务{item_ref(assignment, item)}{short}" if item is not None else None
    if named:
        text = text.replace(f"第{assignment.item_number}项任务", named)
    dept = assignment.department
    return text.replace(f"（{dept.code}）", f"（{dept.name}）")


def add_notifications(session: Session, inp: NotifyInput) -> list[Notification]:
    """Add the in-app notification of every active user of the audience not yet told; flush."""
    assignment = session.get_one(Assignment, inp.assignment_id)
    title = readable(inp.title, session=session, assignment=assignment)
    inp = replace(inp, title=title)
    users = _audience(session, assignment, inp.audience)
    if inp.kind == "escalation_l3":  # the top rung reaches the leaders of the department too
        users += leaders_of(session=session, department_id=assignment.department_id)
    added = [note for user in users if (note := _add_once(session, inp, user)) is not None]
    session.flush()
    return added


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
        title=inp.title,
        body=inp.body,
        link=f"/assignments/{inp.assignment_id}",
        assignment_id=inp.assignment_id,
    )
    session.add(note)
    return note
