"""HTTP shapes of the cascade (层层分解): the organisation tree, sub-assignments and the roll-up."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from duban.models import Assignment, Department
from duban.services.cascade import Rollup
from duban.services.orgtree import TreeRow
from web.schemas import CODE_PATTERN, BodyDateTime, DepartmentRead

Kind = Literal["", "government", "department", "division"]
Level = Literal["", "province", "city", "county", "township"]


class OrgNodeRead(BaseModel):
    """A unit of the organisation tree with its parent, kind, level and depth."""

    code: str
    name: str
    parent: str | None
    kind: str
    level: str
    depth: int
    children: int

    @classmethod
    def of(cls, row: TreeRow, codes: dict[int, str]) -> OrgNodeRead:
        """Build from a tree row; `codes` maps department ids to codes."""
        d = row.department
        parent = codes.get(d.parent_id) if d.parent_id is not None else None
        return cls(
            code=d.code,
            name=d.name,
            parent=parent,
            kind=d.kind,
            level=d.level,
            depth=row.depth,
            children=row.children,
        )


class OrgPlacement(BaseModel):
    """Where a unit sits: its parent's code (null: at the top), kind and government level."""

    model_config = ConfigDict(extra="forbid")

    parent: Annotated[str, Field(pattern=CODE_PATTERN)] | None = None
    kind: Kind = ""
    level: Level = ""


class SubAssignmentCreate(BaseModel):
    """Split an assignment: the unit below (code), its due date (RFC 3339) and share (0–100 %)."""

    model_config = ConfigDict(extra="forbid")

    department: Annotated[str, Field(pattern=CODE_PATTERN)]
    due_at: BodyDateTime
    share: Annotated[StrictInt, Field(ge=0, le=100)] = 0


class WaiverCreate(BaseModel):
    """A supervisor's waiver of the open sub-assignments, with its reason."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500)]


class SubAssignmentRead(BaseModel):
    """A sub-assignment as its parent lists it."""

    id: int
    department: DepartmentRead
    state: str
    due_at: datetime | None
    target_share: int | None
    open: bool

    @classmethod
    def of(cls, a: Assignment, *, open_: bool) -> SubAssignmentRead:
        """Build from the ORM row."""
        return cls(
            id=a.id,
            department=DepartmentRead.of(a.department),
            state=a.state,
            due_at=a.due_at,
            target_share=a.target_share,
            open=open_,
        )


class CascadeRead(BaseModel):
    """An assignment's sub-assignments, how they roll up, and why submitting is blocked (if so)."""

    assignment_id: int
    parent_id: int | None
    children: list[SubAssignmentRead]
    open: int
    reported: int
    done: int
    shares: int
    waived: bool
    blocked_reason: str | None

    @classmethod
    def of(cls, a: Assignment, r: Rollup) -> CascadeRead:
        """Build from the roll-up."""
        names = set(r.open_names)
        return cls(
            assignment_id=a.id,
            parent_id=a.parent_id,
            children=[
                SubAssignmentRead.of(c, open_=c.department.name in names) for c in r.children
            ],
            open=len(r.open_names),
            reported=r.reported,
            done=r.done,
            shares=r.shares,
            waived=r.waived,
            blocked_reason=r.blocked_reason or None,
        )


def department_codes(departments: list[Department]) -> dict[int, str]:
    """Map department ids to codes."""
    return {d.id: d.code for d in departments}
