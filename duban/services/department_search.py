"""Find departments as a clerk types (by name, code or a registry alias, in either script) or by a name given."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from duban.errors import Invalid
from duban.models import Department
from policies.units import load_registry, name_key

SEARCH_LIMIT = 20
MAX_QUERY = 100


@dataclass(frozen=True)
class Match:
    """A department found, and the alias it was found by when not its own name."""

    department: Department
    alias: str = ""


@cache
def _aliases() -> dict[str, tuple[str, ...]]:
    """Return the registry's alias keys (Simplified, no spaces) of each department code."""
    out: dict[str, list[str]] = defaultdict(list)
    for key, (code, _name) in load_registry().index.items():
        out[code].append(key)
    return {code: tuple(keys) for code, keys in out.items()}


def _rank(department: Department, key: str, code: str) -> tuple[int, str] | None:
    """Return how well a department matches (lower is better) and the alias matched, or None."""
    name = name_key(department.name)
    if name == key or department.code == code:
        return 0, ""
    if name.startswith(key) or department.code.startswith(code):
        return 1, ""
    if key in name:
        return 2, ""
    alias = next((a for a in _aliases().get(department.code, ()) if key in a), None)
    return (3, alias) if alias is not None else None


def search_departments(*, session: Session, query: str, limit: int = SEARCH_LIMIT) -> list[Match]:
    """Return the departments whose name, code or alias contains the query, best first.

    Traditional input finds Simplified names (both are folded to Simplified before comparing);
    an empty query finds nothing, so a page never lists the whole registry.
    """
    key, code = name_key(query[:MAX_QUERY]), query.strip().lower()[:MAX_QUERY]
    if not key:
        return []
    found: list[tuple[int, str, Match]] = []
    for department in session.scalars(select(Department).order_by(Department.name)):
        ranked = _rank(department, key, code)
        if ranked is not None:
            rank, alias = ranked
            found.append((rank, department.name, Match(department, alias)))
    found.sort(key=lambda row: (row[0], len(row[1]), row[1]))
    return [match for _, _, match in found[:limit]]


def find_department(*, session: Session, value: str) -> Department | None:
    """Find a department by code or name, in either script or by a registry alias."""
    value = value.strip()
    if not value:
        return None
    resolved = load_registry().resolve(value)
    names = {value, resolved.name}
    return session.scalar(
        select(Department).where(
            or_(Department.code.in_([value, resolved.code]), Department.name.in_(names))
        )
    )


def department_unit(*, session: Session, value: str, as_written: str) -> dict[str, Any]:
    """Return a draft unit naming a department (by code or name), or an unknown one."""
    value = value.strip()
    if not value:
        raise Invalid("请填写单位名称或选择部门")
    row = session.scalar(
        select(Department).where(or_(Department.code == value, Department.name == value))
    )
    if row is not None:
        name, code, known = row.name, row.code, True
    else:
        name, code, known = load_registry().resolve(value)
    return {
        "name": name,
        "as_written": as_written or value,
        "role": "co",
        "code": code,
        "known": known,
        **({} if known else {"unknown": True}),
        "collective": False,
        "span": None,
        "doubts": [],
    }
