"""HTTP schemas of named people: the conversation, 批示, the assignee and a leader's red list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from duban.models import AssignmentMessage, User
from duban.services.conversation import MESSAGE_MAX_CHARS
from duban.services.leader import RedRow
from web.schemas import DepartmentRead, RowId


class MessageCreate(BaseModel):
    """A message to the conversation; `@username` tells that user; evidence ids of this assignment."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=MESSAGE_MAX_CHARS)
    evidence_ids: list[RowId] = Field(default_factory=list, max_length=50)


class InstructionCreate(BaseModel):
    """A leader's 批示 on an assignment."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=MESSAGE_MAX_CHARS)


class AuthorRead(BaseModel):
    """Who wrote a message."""

    id: int
    username: str
    name: str
    role: str

    @classmethod
    def of(cls, user: User) -> AuthorRead:
        """Build from the ORM row."""
        return cls(
            id=user.id,
            username=user.username,
            name=user.display_name or user.username,
            role=user.role,
        )


class MessageRead(BaseModel):
    """One entry of the conversation: a message, a 催办 or a 批示."""

    id: int
    kind: str
    body: str
    author: AuthorRead
    evidence_ids: list[int]
    mentioned_ids: list[int]
    created_at: datetime

    @classmethod
    def of(cls, m: AssignmentMessage) -> MessageRead:
        """Build from the ORM row."""
        return cls(
            id=m.id,
            kind=m.kind,
            body=m.body,
            author=AuthorRead.of(m.author),
            evidence_ids=list(m.evidence_ids),
            mentioned_ids=list(m.mentioned_ids),
            created_at=m.created_at,
        )


class AssigneeUpdate(BaseModel):
    """The member (承办人) the head hands the assignment to; null hands it back to the unit."""

    model_config = ConfigDict(extra="forbid")

    assignee_id: RowId | None


class AssigneeRead(BaseModel):
    """Who the assignment is handed to now."""

    assignment_id: int
    assignee: AuthorRead | None


class RedRowRead(BaseModel):
    """An overdue assignment in a leader's remit."""

    assignment_id: int
    ref: str
    title: str
    department: DepartmentRead
    due_at: datetime | None
    escalation_level: int
    light_reason: str

    @classmethod
    def of(cls, row: RedRow) -> RedRowRead:
        """Build from a red row."""
        a = row.assignment
        return cls(
            assignment_id=a.id,
            ref=row.ref,
            title=row.title,
            department=DepartmentRead.of(a.department),
            due_at=a.due_at,
            escalation_level=a.escalation_level,
            light_reason=row.light.reason,
        )


class RemitUpdate(BaseModel):
    """The department codes a leader oversees (replaces the list)."""

    model_config = ConfigDict(extra="forbid")

    departments: list[str] = Field(max_length=500)


class SignOffCreate(BaseModel):
    """The head's decision on a member's held report; a return needs a comment."""

    model_config = ConfigDict(extra="forbid")

    approve: StrictBool
    comment: str = Field(default="", max_length=2_000)
    key: str | None = Field(default=None, max_length=100)


class PolicySettingsUpdate(BaseModel):
    """A policy's switches: head sign-off before a report goes to the supervisors."""

    model_config = ConfigDict(extra="forbid")

    head_sign_off: StrictBool


class PolicySettingsRead(BaseModel):
    """A policy's switches as they stand."""

    policy_id: int
    head_sign_off: bool


class AdhocCreate(BaseModel):
    """An ad-hoc task (交办件): no document; units by code, the first leads."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=5_000)
    origin: Literal["instruction", "meeting", "other"] = "instruction"
    units: list[str] = Field(min_length=1, max_length=50)
    deadline: date
    cadence: Literal["monthly", "quarterly", "half-yearly", "one-off"] = "one-off"


class AdhocRead(BaseModel):
    """The ad-hoc task as published: its one-item policy and its assignments."""

    draft_id: int
    policy_id: int
    policy_key: str
    assignment_ids: list[int]
    started: int
