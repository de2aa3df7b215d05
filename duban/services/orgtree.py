"""The organisation tree (层层分解): seeding from the registry, admin edits, walks down the tree."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.errors import CodedInvalid, Invalid
from duban.models import Department, User
from duban.services.audit import record_event
from duban.services.department_admin import get_department
from policies.orgtree import KINDS, LEVELS, TreeNode, collective_levels, load_tree


@dataclass(frozen=True)
class TreeRow:
    """One department as the tree page lists it: depth below its root and its children count."""

    department: Department
    depth: int
    children: int


def sync_tree(*, session: Session, nodes: Iterable[TreeNode]) -> int:
    """Add the registry's governments and place units that have no parent yet; return changes.

    An admin's placement wins: a unit that already has a parent or a kind keeps it.
    """
    nodes = list(nodes)
    by_code = {d.code: d for d in session.scalars(select(Department))}
    changed = 0
    for node in nodes:
        row = by_code.get(node.code)
        if row is None:
            row = session.scalar(select(Department).where(Department.name == node.name))
        if row is None:
            row = Department(code=node.code, name=node.name, known=True)
            session.add(row)
            changed += 1
        if not row.kind:
            row.kind, row.level = node.kind, node.level
            changed += 1
        by_code[node.code] = row
    session.flush()
    for node in nodes:
        row, parent = by_code[node.code], by_code.get(node.parent)
        placeable = node.parent and parent is not None and row.parent_id is None
        if placeable and parent is not None and not _would_cycle(session, row.id, parent.id):
            row.parent_id = parent.id
            changed += 1
    session.flush()
    return changed


def _parents(session: Session) -> dict[int, int | None]:
    rows = session.execute(select(Department.id, Department.parent_id))
    return {row[0]: row[1] for row in rows}


def _would_cycle(session: Session, department_id: int, parent_id: int) -> bool:
    """Tell whether putting the department under `parent_id` makes a loop."""
    parents = _parents(session)
    seen: set[int] = set()
    at: int | None = parent_id
    while at is not None and at not in seen:
        if at == department_id:
            return True
        seen.add(at)
        at = parents.get(at)
    return False


def set_placement(
    *,
    session: Session,
    code: str,
    parent_code: str | None,
    kind: str,
    level: str,
    actor: User | None,
) -> Department:
    """Place a department under another (or at the top) with its kind and level; audited."""
    department = get_department(session=session, code=code)
    if kind not in ("", *KINDS):
        raise Invalid(f"单位类别无效：{kind}")
    if level not in ("", *LEVELS):
        raise Invalid(f"行政层级无效：{level}")
    if level and kind != "government":
        raise Invalid("只有人民政府才有行政层级。")
    parent = get_department(session=session, code=parent_code) if parent_code else None
    if parent is not None and (
        parent.id == department.id or _would_cycle(session, department.id, parent.id)
    ):
        raise CodedInvalid(
            f"不能把“{department.name}”放在“{parent.name}”之下：它是后者的上级，会形成循环。",
            code="tree_cycle",
        )
    before = {"parent": _code_of(session, department.parent_id), "kind": department.kind}
    department.parent_id = parent.id if parent is not None else None
    department.kind, department.level = kind, level
    session.flush()
    data = {
        "code": code,
        "from": before,
        "parent": parent_code or None,
        "kind": kind,
        "level": level,
    }
    record_event(session=session, kind="org_placed", actor=actor, data=data)
    return department


def _code_of(session: Session, department_id: int | None) -> str | None:
    if department_id is None:
        return None
    return session.get_one(Department, department_id).code


def tree_rows(*, session: Session) -> list[TreeRow]:
    """Return every department depth-first, roots by code, children by code."""
    rows = list(session.scalars(select(Department).order_by(Department.code)))
    ids = {d.id for d in rows}
    kids: dict[int | None, list[Department]] = {}
    for d in rows:
        key = d.parent_id if d.parent_id in ids else None
        kids.setdefault(key, []).append(d)
    out: list[TreeRow] = []

    def walk(parent: int | None, depth: int) -> None:
        for d in kids.get(parent, []):
            out.append(TreeRow(d, depth, len(kids.get(d.id, []))))
            walk(d.id, depth + 1)

    walk(None, 0)
    return out


def descendants(*, session: Session, department_id: int) -> list[Department]:
    """Return every unit below the department, nearest first."""
    parents = _parents(session)
    below: list[int] = []
    frontier = [department_id]
    while frontier:
        nxt = [d for d, p in parents.items() if p in frontier and d not in below]
        below += nxt
        frontier = nxt
    if not below:
        return []
    found = {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(below)))}
    return [found[i] for i in below]


def is_below(*, session: Session, department_id: int, ancestor_id: int) -> bool:
    """Tell whether the department sits somewhere under `ancestor_id`."""
    parents = _parents(session)
    at, seen = parents.get(department_id), set()
    while at is not None and at not in seen:
        if at == ancestor_id:
            return True
        seen.add(at)
        at = parents.get(at)
    return False


def fan_out_targets(*, session: Session, name: str) -> list[Department]:
    """Return the governments a collective unit fans out to (its levels in the tree), by code."""
    levels = collective_levels(name)
    if not levels:
        return []
    return list(
        session.scalars(
            select(Department)
            .where(Department.kind == "government", Department.level.in_(levels))
            .order_by(Department.code)
        )
    )


def fan_out_preview(*, session: Session, data: dict[str, Any]) -> dict[str, list[str]]:
    """Return, for each collective unit name of a draft, the governments it will fan out to.

    Before the first publication the tree may not be seeded yet: then the registry's says.
    """
    names = {
        str(u.get("name", ""))
        for item in data.get("items", [])
        for u in item.get("units", [])
        if u.get("collective")
    }
    out: dict[str, list[str]] = {}
    for name in sorted(names):
        targets = [d.name for d in fan_out_targets(session=session, name=name)]
        if not targets:
            levels = collective_levels(name)
            targets = [n.name for n in load_tree() if n.kind == "government" and n.level in levels]
        if targets:
            out[name] = targets
    return out


def split_scope(*, session: Session, department_id: int) -> list[Department]:
    """Return the units a department may hand work down to (转办/分解).

    Its own divisions and units below it; and, for a department of a government (省扶贫办 under
    吉林省人民政府), the governments below that government too (长春市人民政府, 榆树市人民政府…),
    as a provincial department hands its part down to the cities and counties.
    """
    own = descendants(session=session, department_id=department_id)
    department = session.get_one(Department, department_id)
    parent = session.get(Department, department.parent_id) if department.parent_id else None
    if parent is None or parent.kind != "government":
        return own
    seen = {d.id for d in own} | {department_id}
    below = [
        d
        for d in descendants(session=session, department_id=parent.id)
        if d.kind == "government" and d.id not in seen
    ]
    return own + below
