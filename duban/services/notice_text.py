"""What a notification says, rendered for its reader: a workflow's code and parameters become
text (the task by its label and title, the department by its name, times in Beijing time), in
the reader's script. Rows stored as text (before codes) show as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.messages import NOTICE_TEXTS, ROLE_NAMES
from duban.models import Assignment, Department, Notification, Policy
from duban.script import SIMPLIFIED, to_script
from duban.services.assignment import item_ref, item_title, select_with_item

TITLE_CHARS = 24
BEIJING = timezone(timedelta(hours=8))  # no daylight saving


@dataclass(frozen=True)
class NoticeView:
    """A notification as its reader sees it."""

    id: int
    kind: str
    title: str
    body: str
    link: str
    assignment_id: int | None
    created_at: datetime
    read_at: datetime | None
    emailed_at: datetime | None


@dataclass(frozen=True)
class Names:
    """How the parameters' ids read: tasks by assignment id, departments by code, policies by id."""

    tasks: dict[int, str]
    departments: dict[str, str]
    policies: dict[int, str] = field(default_factory=dict)


def task_name(assignment: Assignment, item: Any) -> str:
    """Name a task as a reader knows it: 任务（九）健全… (its label and short title)."""
    if item is None:
        return f"第{assignment.item_number}项任务"
    title = item_title(assignment, item)
    short = title if len(title) <= TITLE_CHARS else title[:TITLE_CHARS] + "…"
    return f"任务{item_ref(assignment, item)}{short}"


def names_for(session: Session, notes: Sequence[Notification]) -> Names:
    """Load the task and department names that the coded notes' parameters refer to."""
    coded = [n for n in notes if n.code]
    ids = {n.assignment_id for n in coded if n.assignment_id is not None}
    codes = {str((n.params or {}).get("department")) for n in coded}
    tasks: dict[int, str] = {}
    if ids:
        rows = session.execute(select_with_item().where(Assignment.id.in_(ids))).all()
        tasks = {a.id: task_name(a, item) for a, item in rows}
    departments: dict[str, str] = {}
    if codes:
        found = session.execute(
            select(Department.code, Department.name).where(Department.code.in_(codes))
        )
        departments = {str(code): str(name) for code, name in found}
    return Names(tasks, departments, _policy_titles(session, coded))


def _policy_titles(session: Session, coded: Sequence[Notification]) -> dict[int, str]:
    ids = {i for n in coded if (i := _int((n.params or {}).get("policy"))) is not None}
    if not ids:
        return {}
    found = session.execute(select(Policy.id, Policy.title).where(Policy.id.in_(ids)))
    return {int(pid): str(title) for pid, title in found}


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


class _Values(dict[str, str]):
    """Template values; a parameter the row lacks reads as a dash."""

    def __missing__(self, key: str) -> str:
        return "—"


def _beijing(value: object) -> str:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return "—"
    if at.tzinfo is None:  # stored in UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _values(note: Notification, names: Names) -> _Values:
    values = _Values()
    for key, value in (note.params or {}).items():
        if value is None:
            continue
        if key == "item":
            fallback = f"第{value}项任务"
            values[key] = names.tasks.get(note.assignment_id or 0, fallback)
        elif key == "department":
            values[key] = names.departments.get(str(value), str(value))
        elif key == "role":
            values[key] = ROLE_NAMES.get(str(value), str(value))
        elif key == "policy":
            values[key] = names.policies.get(_int(value) or 0, "—")
        elif key.endswith("_at"):
            values[key] = _beijing(value)
        else:
            values[key] = str(value)
    return values


def notice_text(note: Notification, names: Names) -> tuple[str, str]:
    """Return a note's title and body in Simplified: rendered from its code, or as stored."""
    templates = NOTICE_TEXTS.get(note.code) if note.code else None
    if templates is None:
        return note.title, note.body
    values = _values(note, names)
    title_template, body_template = templates
    body = body_template.format_map(values) if body_template else note.body
    return title_template.format_map(values), body


def view(note: Notification, names: Names, locale: str = SIMPLIFIED) -> NoticeView:
    """Return a note as its reader sees it, in the script of `locale`."""
    title, body = notice_text(note, names)
    return NoticeView(
        id=note.id,
        kind=note.kind,
        title=to_script(title, locale),
        body=to_script(body, locale),
        link=note.link,
        assignment_id=note.assignment_id,
        created_at=note.created_at,
        read_at=note.read_at,
        emailed_at=note.emailed_at,
    )


def views(
    session: Session, notes: Sequence[Notification], locale: str = SIMPLIFIED
) -> list[NoticeView]:
    """Return notes as their reader sees them (names loaded once for all of them)."""
    names = names_for(session, notes)
    return [view(n, names, locale) for n in notes]
