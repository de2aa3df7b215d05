"""HTTP shapes of `/api/v1/assessment`: score rows, the ledger, rubrics, frozen evaluations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from duban.models import Evaluation, RubricVersion
from duban.services import evaluation as evaluations
from duban.services.assessment import Ledger
from duban.services.timeline import timeline_label
from web.schemas import DepartmentRead

# An assessment period: a year (2026) or a quarter of it (2026Q4). Years 1900-2999: outside
# them a period names no work on record, and its bounds would not be a valid date.
PERIOD_PATTERN = r"^(19|2\d)\d{2}(Q[1-4])?$"
Period = Annotated[str, Field(pattern=PERIOD_PATTERN, examples=["2026Q4"])]
PeriodQuery = Annotated[
    str | None, Query(pattern=PERIOD_PATTERN, description="2026 或 2026Q4；默认本季度")
]
GroupByField = Literal["department", "official"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RubricCreate(BaseModel):
    """A new rubric as TOML text (the format of policies/rubric.toml)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=evaluations.MAX_RUBRIC_CHARS)


class EvaluationCreate(BaseModel):
    """A period to compile and freeze."""

    model_config = ConfigDict(extra="forbid")

    period: Period
    by: GroupByField = "department"


class OfficialRef(BaseModel):
    """The head of a department a row is about (rows `by=official`)."""

    username: str
    name: str


class RuleTotalRead(BaseModel):
    """The lines of one rule within a score row, summed."""

    rule: str
    label: str
    points: float
    count: int


class ScoreRowRead(BaseModel):
    """A ranked row: `department` (by=department) or `official` (by=official), never both."""

    department: DepartmentRead | None = None
    official: OfficialRef | None = None
    score: float
    rank: int
    breakdown: list[RuleTotalRead]


class StoredLineRead(BaseModel):
    """One scored line as frozen in an evaluation."""

    points: float
    reason: str
    rule: str
    event_ids: list[int]
    assignment_id: int
    period_index: int


class FrozenRowRead(ScoreRowRead):
    """A score row as frozen: the periods counted and every line."""

    periods: int
    lines: list[StoredLineRead]


class LedgerEventRead(BaseModel):
    """An audit event a ledger line came from."""

    id: int
    kind: str
    label: str
    at: datetime


class LedgerLineRead(BaseModel):
    """One line of a department's score: points, why, and the events behind it."""

    points: float
    reason: str
    rule: str
    assignment_id: int
    task_number: int | None
    period_index: int
    assignment_url: str
    events: list[LedgerEventRead]


class LedgerRead(BaseModel):
    """A department's score of a period, every line explained."""

    department: DepartmentRead
    period: str
    score: float
    rank: int | None
    of: int
    breakdown: list[RuleTotalRead]
    lines: list[LedgerLineRead]
    # The cursor of the next window of lines (None: these were the last).
    next: str | None = None

    @classmethod
    def of_ledger(cls, ledger: Ledger) -> LedgerRead:
        """Build from the service's ledger."""
        row = ledger.row
        lines = [
            LedgerLineRead(
                points=round(line.points, 2),
                reason=line.reason,
                rule=line.rule,
                assignment_id=line.assignment_id,
                task_number=ledger.task_numbers.get(line.assignment_id),
                period_index=line.period_index,
                assignment_url=f"/assignments/{line.assignment_id}",
                events=[
                    LedgerEventRead(
                        id=e.id, kind=e.kind, label=timeline_label(e.kind, e.data), at=e.at
                    )
                    for e in (ledger.events[i] for i in line.event_ids if i in ledger.events)
                ],
            )
            for line in ledger.lines
        ]
        return cls(
            department=DepartmentRead.of(ledger.department),
            period=ledger.period,
            score=row.score if row else 0.0,
            rank=row.rank if row else None,
            of=ledger.rank_of,
            breakdown=row.to_json()["breakdown"] if row else [],
            lines=lines,
            next=ledger.next,
        )


class RubricRead(BaseModel):
    """A stored rubric version."""

    version: str
    title: str
    fingerprint: str
    source: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, row: RubricVersion) -> RubricRead:
        """Build from the ORM row."""
        return cls(
            version=row.version,
            title=row.title,
            fingerprint=row.fingerprint,
            source=row.source,
            created_by=row.created_by_label,
            created_at=row.created_at,
        )


class AuditChainRef(BaseModel):
    """The audit chain head an evaluation was computed from."""

    seq: int
    hash: str


class EvaluationRead(BaseModel):
    """A frozen evaluation without its rows."""

    id: int
    period: str
    by: GroupByField
    digest: str
    rubric_version: str
    as_of: datetime
    audit_chain: AuditChainRef
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, ev: Evaluation) -> EvaluationRead:
        """Build from the ORM row."""
        return cls.model_validate(_evaluation_fields(ev))


class EvaluationDetailRead(EvaluationRead):
    """A frozen evaluation with its rows, lines included."""

    rows: list[FrozenRowRead]

    @classmethod
    def of(cls, ev: Evaluation) -> EvaluationDetailRead:
        """Build from the ORM row."""
        return cls.model_validate(_evaluation_fields(ev) | {"rows": ev.rows})


def _evaluation_fields(ev: Evaluation) -> dict[str, Any]:
    return {
        "id": ev.id,
        "period": ev.period,
        "by": ev.by,
        "digest": ev.digest,
        "rubric_version": ev.rubric_version,
        "as_of": ev.as_of,
        "audit_chain": {"seq": ev.chain_seq, "hash": ev.chain_hash},
        "created_by": ev.created_by_label,
        "created_at": ev.created_at,
    }


class ScoreRank(BaseModel):
    """A score and rank on one side of a comparison (null where the row is absent)."""

    score: float | None
    rank: int | None


class DifferenceRead(BaseModel):
    """A row whose score or rank differs between the frozen and the recomputed evaluation."""

    key: str
    name: str
    frozen: ScoreRank
    now: ScoreRank


class ComparisonRead(BaseModel):
    """A frozen evaluation recomputed now with the rubric in force."""

    evaluation_id: int
    matches: bool
    frozen_digest: str
    digest: str
    rubric_version: str
    frozen_rubric_version: str
    as_of: datetime
    differences: list[DifferenceRead]

    @classmethod
    def of(cls, cmp: evaluations.Comparison) -> ComparisonRead:
        """Build from the service's comparison."""
        return cls(
            evaluation_id=cmp.evaluation.id,
            matches=cmp.matches,
            frozen_digest=cmp.evaluation.digest,
            digest=cmp.digest,
            rubric_version=cmp.rubric_version,
            frozen_rubric_version=cmp.evaluation.rubric_version,
            as_of=cmp.as_of,
            differences=[
                DifferenceRead(
                    key=d.key,
                    name=d.name,
                    frozen=ScoreRank(score=d.frozen_score, rank=d.frozen_rank),
                    now=ScoreRank(score=d.score, rank=d.rank),
                )
                for d in cmp.differences
            ],
        )
