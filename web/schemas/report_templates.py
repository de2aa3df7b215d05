"""HTTP shapes of report templates and evidence reuse (issue 15)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from duban.models import ReportTemplate
from duban.rules import (
    EVIDENCE_KINDS,
    FIELD_TYPES,
    MAX_ANSWER,
    MAX_CHOICES,
    MAX_FIELDS,
    MAX_LABEL,
    MAX_UNIT,
)
from web.schemas import BodyRowId

AnswerName = Annotated[str, Field(min_length=1, max_length=32)]
AnswerValue = Annotated[str, Field(max_length=MAX_ANSWER)]
FieldType = Literal["text", "number", "date", "choice"]
EvidenceKind = Literal["pdf", "image", "document", "spreadsheet", "presentation", "archive"]
assert set(FieldType.__args__) == set(FIELD_TYPES)  # type: ignore[attr-defined]
assert set(EvidenceKind.__args__) == set(EVIDENCE_KINDS)  # type: ignore[attr-defined]


class ReportFieldWrite(BaseModel):
    """One typed field of a report form: key, Chinese label, type, required, unit, options."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    label: str = Field(min_length=1, max_length=MAX_LABEL)
    type: FieldType
    required: StrictBool = False
    unit: str = Field(default="", max_length=MAX_UNIT)
    choices: list[Annotated[str, Field(min_length=1, max_length=MAX_LABEL)]] = Field(
        default_factory=list, max_length=MAX_CHOICES
    )


class ReportTemplateWrite(BaseModel):
    """A task's report template: at most 20 fields and the kinds of evidence every report needs."""

    model_config = ConfigDict(extra="forbid")

    fields: list[ReportFieldWrite] = Field(default_factory=list, max_length=MAX_FIELDS)
    evidence_kinds: list[EvidenceKind] = Field(default_factory=list, max_length=len(EVIDENCE_KINDS))


class ReportFieldRead(BaseModel):
    """One field of a stored template."""

    name: str
    label: str
    type: str
    required: bool
    unit: str
    choices: list[str]


class ReportTemplateRead(BaseModel):
    """A task's report template (empty lists when none is set)."""

    policy_id: int
    item_number: int
    fields: list[ReportFieldRead]
    evidence_kinds: list[str]

    @classmethod
    def of(
        cls, template: ReportTemplate | None, *, policy_id: int, item_number: int
    ) -> ReportTemplateRead:
        """Build from the ORM row, or an empty template."""
        fields = template.fields if template else []
        return cls(
            policy_id=policy_id,
            item_number=item_number,
            fields=[ReportFieldRead.model_validate(f) for f in fields],
            evidence_kinds=list(template.evidence_kinds) if template else [],
        )


class EvidenceReuse(BaseModel):
    """Attach a file the department uploaded for another of its assignments."""

    model_config = ConfigDict(extra="forbid")

    evidence_id: BodyRowId
