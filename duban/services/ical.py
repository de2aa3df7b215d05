"""The private iCalendar feed of a department's due dates, behind a per-user token."""

from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.errors import NotFound
from duban.models import Assignment, AssignmentPeriod, Department, User
from duban.services.assignment import inbox_scope, item_title, select_with_item

DISPLAY_TZ = ZoneInfo("Asia/Shanghai")
TOKEN_BYTES = 24


def ensure_ical_token(*, session: Session, user: User, rotate: bool = False) -> str:
    """Return the user's feed token, creating (or, with `rotate`, replacing) it."""
    if user.ical_token is None or rotate:
        user.ical_token = secrets.token_urlsafe(TOKEN_BYTES)
        session.flush()
    return user.ical_token


def user_for_token(*, session: Session, token: str) -> User:
    """Return the active user who owns a feed token, or raise NotFound."""
    user = None
    if token and len(token) <= 64:
        user = session.scalars(select(User).where(User.ical_token == token)).one_or_none()
    if user is None or not user.is_active:
        raise NotFound("日历链接无效或已重置。")
    return user


def _periods(
    session: Session, department_id: int | None
) -> list[tuple[AssignmentPeriod, Assignment]]:
    """Return the non-historic periods of the scope's assignments with their assignment."""
    stmt = (
        select(AssignmentPeriod, Assignment)
        .join(Assignment, Assignment.id == AssignmentPeriod.assignment_id)
        .where(AssignmentPeriod.historic.is_(False))
        .order_by(AssignmentPeriod.due_at, AssignmentPeriod.id)
    )
    if department_id is not None:
        stmt = stmt.where(Assignment.department_id == department_id)
    return [(period, assignment) for period, assignment in session.execute(stmt).unique()]


def _titles(session: Session, assignments: set[Assignment]) -> dict[int, str]:
    """Return the item title of each assignment."""
    ids = [a.id for a in assignments]
    rows = session.execute(select_with_item().where(Assignment.id.in_(ids))).unique()
    return {a.id: item_title(a, item) for a, item in rows}


def _event(
    period: AssignmentPeriod, assignment: Assignment, title: str, *, base_url: str, stamp: datetime
) -> Event:
    """Return the all-day event of one period's due date (in Asia/Shanghai)."""
    host = urlsplit(base_url).hostname or "duban"
    url = f"{base_url.rstrip('/')}/assignments/{assignment.id}"
    done = "（已办结）" if period.closed_at is not None else ""
    event = Event()
    event.add("uid", f"assignment-{assignment.id}-period-{period.index}@{host}")
    event.add("dtstamp", stamp)
    event.add("dtstart", period.due_at.astimezone(DISPLAY_TZ).date())
    event.add("summary", f"督办到期{done}：第{assignment.item_number}项 {title}")
    event.add(
        "description",
        f"{assignment.policy.title}\n{period.label}，截止 "
        f"{period.due_at.astimezone(DISPLAY_TZ):%Y-%m-%d %H:%M}（北京时间）\n{url}",
    )
    event.add("url", url)
    return event


def build_calendar(*, session: Session, user: User, base_url: str, now: datetime) -> bytes:
    """Return the iCalendar feed of the due dates the user's inbox covers."""
    department_id = inbox_scope(user)
    rows = _periods(session, department_id)
    titles = _titles(session, {a for _, a in rows})
    name = "全部单位"
    if department_id is not None:
        department = session.get(Department, department_id)
        name = department.name if department else name
    calendar = Calendar()
    calendar.add("prodid", "-//duban//督办//ZH")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"督办 · {name}")
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    for period, assignment in rows:
        calendar.add_component(
            _event(period, assignment, titles[assignment.id], base_url=base_url, stamp=now)
        )
    return bytes(calendar.to_ical())
