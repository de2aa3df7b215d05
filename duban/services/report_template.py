"""Report templates (issue 15): a task's report form and required evidence, and the check of a report."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.db import utcnow
from duban.domain import UserRole
from duban.errors import Forbidden, Invalid, NotFound
from duban.models import (
    Assignment,
    Evidence,
    Policy,
    PolicyItem,
    PolicyVersion,
    ReportTemplate,
    Submission,
    User,
)
from duban.rules import ReportField, ReportSpec, evidence_kind, report_refusal, template_errors
from duban.scoring import period_bounds
from duban.services.audit import record_event

TEMPLATE_EDITORS = frozenset({UserRole.SUPERVISOR})


def spec_from_data(fields: list[dict[str, Any]], evidence_kinds: list[str]) -> ReportSpec:
    """Return the spec of stored or posted data (unknown keys ignored, text stripped)."""
    return ReportSpec(
        fields=[
            ReportField(
                name=str(f.get("name", "")).strip(),
                label=str(f.get("label", "")).strip(),
                type=str(f.get("type", "")).strip(),
                required=bool(f.get("required", False)),
                unit=str(f.get("unit", "") or "").strip(),
                choices=[str(c).strip() for c in f.get("choices") or []],
            )
            for f in fields
        ],
        evidence_kinds=[str(k) for k in evidence_kinds],
    )


def template_spec(template: ReportTemplate | None) -> ReportSpec | None:
    """Return a stored template as a spec (None when the task has none or it is empty)."""
    if template is None or not (template.fields or template.evidence_kinds):
        return None
    return spec_from_data(template.fields, template.evidence_kinds)


def task_item(*, session: Session, policy_id: int, item_number: int) -> PolicyItem:
    """Return the task (an item with units) of the policy's current version, or raise NotFound."""
    stmt = (
        select(PolicyItem)
        .join(PolicyVersion, PolicyItem.version_id == PolicyVersion.id)
        .join(Policy, PolicyVersion.policy_id == Policy.id)
        .where(
            Policy.id == policy_id,
            PolicyVersion.version == Policy.current_version,
            PolicyItem.number == item_number,
            PolicyItem.is_task,
        )
    )
    item = session.scalars(stmt).first()
    if item is None:
        raise NotFound("任务不存在。")
    return item


def get_template(*, session: Session, policy_id: int, item_number: int) -> ReportTemplate | None:
    """Return the task's report template, if one was set."""
    stmt = select(ReportTemplate).where(
        ReportTemplate.policy_id == policy_id, ReportTemplate.item_number == item_number
    )
    return session.scalars(stmt).one_or_none()


def save_template(
    *, session: Session, user: User, policy_id: int, item_number: int, spec: ReportSpec
) -> ReportTemplate:
    """Set the task's report template (a supervisor); a bad one raises Invalid, nothing saved."""
    if user.role not in TEMPLATE_EDITORS:
        raise Forbidden("只有督查室可以设置报送模板。")
    task_item(session=session, policy_id=policy_id, item_number=item_number)
    if errors := template_errors(spec):
        raise Invalid("报送模板有误：" + "；".join(errors[:10]) + "。")
    template = get_template(session=session, policy_id=policy_id, item_number=item_number)
    if template is None:
        template = ReportTemplate(policy_id=policy_id, item_number=item_number)
        session.add(template)
    template.fields = [asdict(f) for f in spec.fields]
    template.evidence_kinds = list(spec.evidence_kinds)
    template.updated_by_id, template.updated_at = user.id, utcnow()
    session.flush()
    data = {
        "policy_id": policy_id,
        "item_number": item_number,
        "fields": [f.name for f in spec.fields],
        "evidence_kinds": list(spec.evidence_kinds),
    }
    record_event(session=session, kind="report_template_set", actor=user, data=data)
    return template


def assignment_spec(*, session: Session, assignment: Assignment) -> ReportSpec | None:
    """Return the report template that the assignment's task sets, if any."""
    template = get_template(
        session=session, policy_id=assignment.policy_id, item_number=assignment.item_number
    )
    return template_spec(template)


def evidence_kinds_of(*, session: Session, evidence_ids: list[int]) -> list[str]:
    """Return the kinds of the given evidence files (in no particular order)."""
    if not evidence_ids:
        return []
    stmt = select(Evidence.content_type).where(Evidence.id.in_(evidence_ids))
    return sorted({evidence_kind(t) for t in session.scalars(stmt)})


def check_report(
    *, session: Session, assignment: Assignment, answers: dict[str, str], evidence_ids: list[int]
) -> tuple[ReportSpec | None, list[str]]:
    """Check a report against its task's template; return the spec and the evidence kinds.

    The same rule runs again in the workflow's validator with the spec sent along.
    """
    spec = assignment_spec(session=session, assignment=assignment)
    kinds = evidence_kinds_of(session=session, evidence_ids=evidence_ids)
    if (refusal := report_refusal(spec, answers, kinds)) is not None:
        raise Invalid(refusal.message)
    return spec, kinds


@dataclass(frozen=True)
class AnswerLine:
    """One answer of a submitted report, as the export and the queues show it."""

    assignment_id: int
    department: str
    item_number: int
    period_index: int
    submitted_at: datetime
    label: str
    value: str


def shown_answers(spec: ReportSpec | None, answers: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Return (label, value with unit) pairs of a report's answers, in the template's order."""
    if not answers:
        return []
    fields = {f.name: f for f in spec.fields} if spec else {}
    order = [n for n in fields if n in answers] + [n for n in answers if n not in fields]
    pairs = []
    for name in order:
        f, value = fields.get(name), str(answers[name])
        pairs.append((f.label if f else name, f"{value} {f.unit}" if f and f.unit else value))
    return pairs


def answer_lines(*, session: Session, period: str) -> list[AnswerLine]:
    """Return the answers of the reports submitted in an assessment period, oldest first."""
    start, end = period_bounds(period)
    stmt = (
        select(Submission, Assignment)
        .join(Assignment, Submission.assignment_id == Assignment.id)
        .where(
            Submission.answers.is_not(None),
            Submission.submitted_at >= start,
            Submission.submitted_at < end,
        )
        .order_by(Submission.submitted_at, Submission.id)
    )
    specs: dict[tuple[int, int], ReportSpec | None] = {}
    lines = []
    for submission, assignment in session.execute(stmt):
        task = (assignment.policy_id, assignment.item_number)
        if task not in specs:
            specs[task] = assignment_spec(session=session, assignment=assignment)
        for label, value in shown_answers(specs[task], submission.answers):
            lines.append(
                AnswerLine(
                    assignment.id,
                    assignment.department.name,
                    assignment.item_number,
                    submission.period_index,
                    submission.submitted_at,
                    label,
                    value,
                )
            )
    return lines


def submission_answers(
    *, session: Session, submissions: list[Submission]
) -> dict[int, list[tuple[str, str]]]:
    """Return each submission's answers as (label, value) pairs, by submission id."""
    specs: dict[int, ReportSpec | None] = {}
    shown = {}
    for s in submissions:
        if not s.answers:
            continue
        if s.assignment_id not in specs:
            assignment = session.get(Assignment, s.assignment_id)
            assert assignment is not None  # a foreign key
            specs[s.assignment_id] = assignment_spec(session=session, assignment=assignment)
        shown[s.id] = shown_answers(specs[s.assignment_id], s.answers)
    return shown
