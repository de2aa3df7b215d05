"""Departments of the read model: the registry's canonical units plus units found only in documents."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.models import Department


class DepartmentRegistry(Protocol):
    """What the importer needs of `policies.units` registry: canonical (code, name) pairs."""

    @property
    def departments(self) -> Iterable[tuple[str, str]]:
        """Yield (code, canonical name) of every canonical unit."""
        ...


def sync_departments(*, session: Session, registry: DepartmentRegistry) -> int:
    """Upsert every canonical department of the registry; return how many rows were added or changed."""
    by_code = {d.code: d for d in session.scalars(select(Department))}
    by_name = {d.name: d for d in by_code.values()}
    changed = 0
    for code, name in registry.departments:
        row = by_code.get(code)
        if row is None:
            row = by_name.get(name)
        if row is None:
            row = Department(code=code, name=name, known=True)
            session.add(row)
        elif (row.code, row.name, row.known) == (code, name, True):
            continue
        else:
            # A unit first seen as unknown (or renamed in the registry) is adopted by the registry.
            row.code, row.name, row.known = code, name, True
        by_code[code] = by_name[name] = row
        changed += 1
    session.flush()
    return changed


def ensure_department(*, session: Session, code: str, name: str, known: bool) -> Department:
    """Return the department with `code` (or `name`), creating it if it does not exist yet."""
    row = session.scalar(select(Department).where(Department.code == code))
    if row is None:
        row = session.scalar(select(Department).where(Department.name == name))
    if row is None:
        row = Department(code=code, name=name, known=known)
        session.add(row)
        session.flush()
    return row
