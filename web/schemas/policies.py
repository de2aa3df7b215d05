"""HTTP schemas of policies and drafts: the list, one document, a draft, its corrections, publishing."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from duban.models import PolicyDraft
from duban.services.draft_cadence import version_cadence
from duban.services.draft_edit import DraftEdit, item_ref
from duban.services.draft_json import doubts_of
from duban.services.policy_overview import (
    DocumentItem,
    PolicyDocument,
    PolicySummary,
    issuer_of,
)
from web.schemas import BodyInt, BodyRowId, DepartmentRead

Color = Literal["red", "amber", "green"]


class LightsRead(BaseModel):
    """How many assignments show each light."""

    red: int
    amber: int
    green: int


class PolicyRead(BaseModel):
    """A policy in the list."""

    id: int
    key: str
    title: str
    issuer: str = Field(description="the issuing organ as the title names it; empty if it does not")
    issued: date | None
    version: int
    tasks: int
    assignments: int
    lights: LightsRead

    @classmethod
    def of(cls, row: PolicySummary) -> PolicyRead:
        """Build from the service's summary."""
        counts = {k.value: v for k, v in row.lights.counts.items()}
        return cls(
            id=row.policy.id,
            key=row.policy.key,
            title=row.policy.title,
            issuer=row.issuer,
            issued=row.policy.issued_date,
            version=row.version,
            tasks=row.tasks,
            assignments=row.assignments,
            lights=LightsRead(**counts),
        )


class ItemAssignmentRead(BaseModel):
    """An assignment of an item: department, role, state and light."""

    id: int
    department: DepartmentRead
    role: Literal["lead", "co"]
    state: str
    light: Color
    reason: str


class DeadlineRead(BaseModel):
    """A deadline phrase and its date."""

    text: str
    date: date


class PolicyItemRead(BaseModel):
    """An item of the published text, with its task's assignments."""

    number: int
    label: str
    section: int
    title: str
    body: str
    is_task: bool
    deadlines: list[DeadlineRead]
    cadence: str | None = Field(description="the task's reporting cadence (null: not a task)")
    assignments: list[ItemAssignmentRead]

    @classmethod
    def of(cls, row: DocumentItem) -> PolicyItemRead:
        """Build from the service's document item."""
        it = row.item
        return cls(
            number=it.number,
            label=it.label,
            section=it.section_number,
            title=it.title,
            body=it.body,
            is_task=it.is_task,
            deadlines=[DeadlineRead(text=d["text"], date=d["date"]) for d in it.deadlines],
            cadence=version_cadence(it.version.parsed, it.number) if it.is_task else None,
            assignments=[
                ItemAssignmentRead(
                    id=al.assignment.id,
                    department=DepartmentRead.of(al.assignment.department),
                    role="lead" if al.assignment.role == "lead" else "co",
                    state=al.assignment.state,
                    light=al.light.color.value,
                    reason=al.light.reason,
                )
                for al in row.assignments
            ],
        )


class PolicyDetailRead(PolicyRead):
    """A policy with its current text, item by item."""

    sections: list[dict[str, Any]]
    items: list[PolicyItemRead]

    @classmethod
    def of_document(cls, doc: PolicyDocument) -> PolicyDetailRead:
        """Build from the service's document."""
        items = [PolicyItemRead.of(r) for _, _, rows in doc.sections for r in rows]
        counts = {k.value: v for k, v in doc.lights.counts.items()}
        return cls(
            id=doc.policy.id,
            key=doc.policy.key,
            title=doc.policy.title,
            issuer=issuer_of(doc.policy.title),
            issued=doc.policy.issued_date,
            version=doc.version.version,
            tasks=sum(1 for i in items if i.is_task),
            assignments=doc.lights.total,
            lights=LightsRead(**counts),
            sections=[{"number": n, "title": t} for n, t, _ in doc.sections],
            items=items,
        )


class DraftTextCreate(BaseModel):
    """A pasted text to parse into a draft."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=5 * 1024 * 1024)
    name: str = Field(default="", max_length=255, description="file name; empty for pasted text")
    policy_id: BodyRowId | None = Field(default=None, description="amend this published policy")


class DoubtRead(BaseModel):
    """A doubt of the parser on an item or one of its units."""

    id: str
    code: str
    message: str
    item: str
    unit: int | None
    accepted: bool


class DraftRead(BaseModel):
    """A draft: its status, lock version, items (each with an `id` for PATCH) and doubts."""

    id: int
    status: Literal["draft", "published"]
    lock_version: int
    source_name: str
    title: str
    cadence: str
    policy_key: str | None
    base_policy_id: int | None
    published_policy_id: int | None
    published_version: int | None
    items: list[dict[str, Any]]
    doubts: list[DoubtRead]

    @classmethod
    def of(cls, draft: PolicyDraft) -> DraftRead:
        """Build from the ORM row."""
        data = draft.corrected
        ordinals = {
            int(i.get("ordinal") or i["number"]): item_ref(draft.id, i) for i in data["items"]
        }
        return cls(
            id=draft.id,
            status="published" if draft.status == "published" else "draft",
            lock_version=draft.lock_version,
            source_name=draft.source_name,
            title=str(data.get("title", "")),
            cadence=draft.cadence,
            policy_key=draft.policy_key,
            base_policy_id=draft.base_policy_id,
            published_policy_id=draft.published_policy_id,
            published_version=draft.published_version,
            # `cadence`: the task's own reporting cadence; null follows the draft's `cadence`.
            items=[{"id": item_ref(draft.id, i), "cadence": None, **i} for i in data["items"]],
            doubts=[
                DoubtRead(
                    id=d.id,
                    code=d.code,
                    message=d.message,
                    item=ordinals[d.item],
                    unit=d.unit,
                    accepted=d.accepted,
                )
                for d in doubts_of(data)
            ],
        )


class DraftEditIn(BaseModel):
    """One correction (see `op`): `item` is a draft item id, `unit`/`index` positions in it.

    `cadence` sets the document's default reporting cadence (`value`: monthly, quarterly,
    half-yearly, one-off); with an `item`, that task's own cadence (`value` empty: follow the
    default again). `map_unit` takes a department code or name, as `GET /api/v1/departments?q=`
    finds them. `target` adds a target to the item (`index` empty) or corrects the one at
    `index`: `value` the number, `measure` its unit (个, 所, %, 万元…), `direction` at_least,
    at_most, reach or increase_by, `scope` 每年 / 每县 / 累计 (may be empty), `deadline`
    YYYY-MM-DD (may be empty), `text` the words of the source (may be empty);
    `remove_target` and `confirm_target` take the `index` of a target.
    """

    model_config = ConfigDict(extra="forbid")

    op: Literal[
        "title",
        "add_unit",
        "remove_unit",
        "role",
        "map_unit",
        "create_department",
        "deadline",
        "remove_deadline",
        "exclude",
        "merge",
        "split",
        "accept",
        "accept_all",
        "cadence",
        "target",
        "remove_target",
        "confirm_target",
    ]
    item: str = ""
    unit: BodyInt | None = None
    index: BodyInt | None = None
    value: str = Field(default="", max_length=2000)
    text: str = Field(default="", max_length=200)
    measure: str = Field(default="", max_length=16)
    direction: str = Field(default="", max_length=16)
    scope: str = Field(default="", max_length=32)
    deadline: str = Field(default="", max_length=32)

    def edit(self) -> DraftEdit:
        """Return the service's edit."""
        return DraftEdit(
            self.op,
            self.item,
            self.unit,
            self.index,
            self.value,
            self.text,
            self.measure,
            self.direction,
            self.scope,
            self.deadline,
        )


class DraftPatch(BaseModel):
    """Corrections based on the draft as read at `lock_version` (else 409), applied all or none."""

    model_config = ConfigDict(extra="forbid")

    lock_version: BodyInt
    edits: list[DraftEditIn] = Field(min_length=1, max_length=200)


class DraftPublish(BaseModel):
    """Publish the draft as read at `lock_version`."""

    model_config = ConfigDict(extra="forbid")

    lock_version: BodyInt | None = None


class PublishRead(BaseModel):
    """What publishing stored, and how many task workflows it started."""

    policy_id: int
    version: int
    policy_key: str
    started: int
    signalled: int
