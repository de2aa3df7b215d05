"""Departments as the admin manages them: list, create and rename, with checked codes and names."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from duban.errors import Conflict, Invalid, NotFound
from duban.models import Department, User
from duban.services.audit import record_event

# Codes appear in workflow ids (`assignment:{policy}:{item}:{code}`), so no colons or spaces.
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")


def list_departments(*, session: Session) -> list[Department]:
    """Return every department ordered by code."""
    return list(session.scalars(select(Department).order_by(Department.code)))


def get_department(*, session: Session, code: str) -> Department:
    """Return the department with `code` or raise NotFound."""
    department = session.scalar(select(Department).where(Department.code == code))
    if department is None:
        raise NotFound(f"部门不存在：{code}")
    return department


def _check_name(*, session: Session, name: str, exclude_id: int | None = None) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid("部门名称不能为空，且不超过 200 个字符")
    clash = session.scalar(select(Department).where(Department.name == name))
    if clash is not None and clash.id != exclude_id:
        raise Conflict(f"部门名称已存在：{name}")
    return name


def create_department(*, session: Session, code: str, name: str) -> Department:
    """Create a department; `code` is a stable lower-case ASCII slug."""
    code = code.strip()
    if not CODE_RE.match(code):
        raise Invalid("部门代码须为 2–64 位小写字母、数字、点、下划线或连字符")
    name = _check_name(session=session, name=name)
    if session.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise Conflict(f"部门代码已存在：{code}")
    department = Department(code=code, name=name, known=True)
    session.add(department)
    session.flush()
    return department


def rename_department(
    *, session: Session, code: str, name: str, actor: User | None = None
) -> Department:
    """Change a department's display name (audited); its code never changes."""
    department = get_department(session=session, code=code)
    before = department.name
    department.name = _check_name(session=session, name=name, exclude_id=department.id)
    session.flush()
    if department.name != before:
        data = {"code": code, "from": before, "to": department.name}
        record_event(session=session, kind="department_renamed", actor=actor, data=data)
    return department


def member_counts(*, session: Session) -> dict[int, int]:
    """Return the number of active accounts per department id."""
    rows = session.execute(
        select(User.department_id, func.count(User.id))
        .where(User.department_id.is_not(None), User.is_active.is_(True))
        .group_by(User.department_id)
    )
    return {int(dept_id or 0): int(count) for dept_id, count in rows}
