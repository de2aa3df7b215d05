"""Departments: registry sync and units found only in documents, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from duban.models import Department
from duban.services.department import ensure_department, sync_departments
from policies.units import load_registry


@dataclass(frozen=True)
class FakeRegistry:
    """A registry with given entries (plain data, not a mock of a collaborator)."""

    departments: tuple[tuple[str, str], ...]


def test_sync_adds_every_canonical_department_once(session: Session) -> None:
    registry = load_registry()
    added = sync_departments(session=session, registry=registry)
    total = session.scalar(select(func.count()).select_from(Department))
    assert added == total == len(registry.departments)
    assert sync_departments(session=session, registry=registry) == 0
    fpb = session.scalar(select(Department).where(Department.code == "jl-fpb"))
    assert fpb is not None and fpb.name == "省扶贫办" and fpb.known


def test_sync_adopts_a_unit_first_seen_as_unknown(session: Session) -> None:
    ensure_department(session=session, code="x-abc", name="省新设局", known=False)
    changed = sync_departments(session=session, registry=FakeRegistry((("jl-xsj", "省新设局"),)))
    row = session.scalars(select(Department)).one()
    assert changed == 1
    assert (row.code, row.name, row.known) == ("jl-xsj", "省新设局", True)


def test_ensure_department_returns_existing_by_code_or_name(session: Session) -> None:
    first = ensure_department(session=session, code="x-1", name="某中心", known=False)
    assert ensure_department(session=session, code="x-1", name="别名", known=False).id == first.id
    assert ensure_department(session=session, code="x-2", name="某中心", known=False).id == first.id
    assert session.scalar(select(func.count()).select_from(Department)) == 1
