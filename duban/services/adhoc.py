"""Ad-hoc tasks (交办件): a supervisor's task without a document, from a leader's instruction or a
meeting decision. It becomes a one-item policy draft and runs on the same publish path and
workflows as an imported document."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.errors import Invalid
from duban.models import Department, PolicyDraft
from duban.services.draft import Actor, create_draft
from duban.services.draft_json import CADENCES
from policies.model import Deadline, Item, ParsedPolicy, Section, Unit

ORIGINS = {"instruction": "领导批示", "meeting": "会议决定", "other": "其他交办事项"}
TITLE_MAX, BODY_MAX, MAX_UNITS = 200, 5_000, 50


@dataclass(frozen=True)
class AdhocSpec:
    """What a supervisor fills in: the task, its origin, units (the first leads), deadline, cadence."""

    title: str
    body: str
    origin: str
    units: list[str]
    deadline: date
    cadence: str = "one-off"


def _checked(spec: AdhocSpec, today: date) -> AdhocSpec:
    title, body = spec.title.strip(), spec.body.strip()
    if not title or len(title) > TITLE_MAX:
        raise Invalid(f"请填写任务名称（不超过 {TITLE_MAX} 字）。")
    if len(body) > BODY_MAX:
        raise Invalid(f"任务内容不能超过 {BODY_MAX} 字。")
    if spec.origin not in ORIGINS:
        raise Invalid("交办来源只能是领导批示、会议决定或其他交办事项。")
    if spec.cadence not in CADENCES:
        raise Invalid(f"报送周期只能是：{'、'.join(CADENCES.values())}。")
    if spec.deadline <= today:
        raise Invalid("办结时限须晚于今天。")
    codes = list(dict.fromkeys(c.strip() for c in spec.units if c.strip()))
    if not codes or len(codes) > MAX_UNITS:
        raise Invalid(f"请选择 1 至 {MAX_UNITS} 个责任单位（第一个为牵头单位）。")
    return AdhocSpec(title, body or title, spec.origin, codes, spec.deadline, spec.cadence)


def _units(session: Session, codes: list[str]) -> tuple[Unit, ...]:
    found = {
        d.code: d for d in session.scalars(select(Department).where(Department.code.in_(codes)))
    }
    if missing := [c for c in codes if c not in found]:
        raise Invalid(f"单位不存在：{', '.join(missing)}。")
    return tuple(
        Unit(
            name=found[c].name,
            as_written=found[c].name,
            role="lead" if i == 0 else "co",
            code=c,
        )
        for i, c in enumerate(codes)
    )


def adhoc_policy(spec: AdhocSpec, units: tuple[Unit, ...], today: date) -> tuple[ParsedPolicy, str]:
    """Return the one-item document of an ad-hoc task and its text as it is kept on record."""
    when = f"{spec.deadline.year}年{spec.deadline.month}月{spec.deadline.day}日前"
    names = "、".join(u.name for u in units)
    body = f"{spec.body}（责任单位：{names}；{when}完成）"
    item = Item(
        number=1,
        section=1,
        title=spec.title,
        body=body,
        units=units,
        deadlines=(Deadline(when, spec.deadline),),
        ordinal=1,
        label="（一）",
    )
    origin = ORIGINS[spec.origin]
    parsed = ParsedPolicy(
        title=f"交办件：{spec.title}",
        issued=today,
        sections=(Section(1, origin),),
        items=(item,),
        horizon=spec.deadline,
    )
    text = f"交办件：{spec.title}\n\n一、{origin}\n\n（一）{spec.title}。{body}\n"
    return parsed, text


def create_adhoc_draft(
    *, session: Session, spec: AdhocSpec, actor: Actor, today: date
) -> PolicyDraft:
    """Check the task and store it as a draft of its own one-item policy (publish starts it)."""
    spec = _checked(spec, today)
    parsed, text = adhoc_policy(spec, _units(session, spec.units), today)
    draft = create_draft(
        session=session,
        text=text,
        source_name=f"交办件-{spec.title[:40]}.txt",
        actor=actor,
        policy_key=f"adhoc-{uuid.uuid4().hex[:12]}",
        parsed=parsed,
    )
    draft.cadence = spec.cadence
    session.flush()
    return draft
