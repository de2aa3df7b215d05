"""Targets (指标) of tasks and the actuals departments report against them: checks, storage, tracks.

A clerk's corrections and a department's figures are checked here (a number that parses, a unit
the parser knows, a date), so the review screen, the report form and the API refuse the same
things with the same words. A track is a target with its actuals over the periods and the trend
projected to its deadline (the rule is `duban.rules.project_target`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.errors import Invalid
from duban.models import (
    Assignment,
    AssignmentPeriod,
    Policy,
    PolicyItem,
    PolicyVersion,
    Submission,
    TargetActual,
    TaskTarget,
)
from duban.rules import (
    DIRECTION_LABELS,
    Projection,
    meets_target,
    number_text,
    project_target,
    rolled_up_value,
    shared_target_value,
)
from policies.model import Target
from policies.targets import DIRECTIONS, UNIT_RE

MAX_TARGETS = 50
MAX_VALUE = 1e12
SCOPE_MAX_CHARS = 32
TEXT_MAX_CHARS = 200
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
# Units counted in whole things: a report of 2.5 所 is a typing slip.
_WHOLE_UNITS = frozenset("个所家项座条处间张台套辆次场期件块棵株头只册栋户人名") | {"人次"}
_PERCENT = ("%", "％")


def parse_number(raw: str, *, label: str) -> float:
    """Return the number typed (half- or full-width digits, thousands commas), else raise Invalid."""
    text = (raw or "").strip().translate(_FULL_WIDTH).replace(",", "")
    if not _NUMBER_RE.match(text):
        raise Invalid(f"{label}“{raw.strip()[:20]}”不是有效的数字")
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_VALUE:
        raise Invalid(f"{label}“{raw.strip()[:20]}”超出范围")
    return value


_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，－＋", "0123456789.,-+")


def checked_unit(raw: str) -> str:
    """Return the unit if the parser knows it (个, 所, %, 万元, 个百分点…), else raise Invalid."""
    unit = (raw or "").strip().replace("％", "%")
    if not unit:
        raise Invalid("请填写指标单位（如 个、所、%、万元）")
    if not UNIT_RE.fullmatch(unit):
        raise Invalid(
            f"指标单位“{unit[:16]}”无法识别，请填写如 个、所、人、%、万元、公里、个百分点"
        )
    return unit


def checked_direction(raw: str) -> str:
    """Return at_least / at_most / reach / increase_by, else raise Invalid."""
    if raw not in DIRECTIONS:
        raise Invalid(
            "指标方向只能是不低于（at_least）、不超过（at_most）、达到（reach）或增长（increase_by）"
        )
    return raw


def checked_date(raw: str) -> date | None:
    """Return the deadline typed as YYYY-MM-DD (empty: none), else raise Invalid."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise Invalid(f"指标期限“{text[:20]}”无效，请按 YYYY-MM-DD 填写") from exc


@dataclass(frozen=True)
class TargetFields:
    """A target as a clerk types it on the review screen or in the API, still unchecked."""

    value: str
    unit: str
    direction: str
    scope: str = ""
    deadline: str = ""
    text: str = ""


def checked_target(fields: TargetFields) -> dict[str, Any]:
    """Return a target as the draft JSON keeps it, or raise Invalid naming the bad field."""
    value = parse_number(fields.value, label="指标数值")
    unit = checked_unit(fields.unit)
    direction = checked_direction(fields.direction)
    scope = fields.scope.strip()
    if len(scope) > SCOPE_MAX_CHARS:
        raise Invalid(f"指标范围不能超过 {SCOPE_MAX_CHARS} 字（如 每年、每县、累计）")
    day = checked_date(fields.deadline)
    text = fields.text.strip()[:TEXT_MAX_CHARS] or target_words(value, unit, direction, scope)
    return {
        "text": text,
        "value": int(value) if value.is_integer() else value,
        "unit": unit,
        "direction": direction,
        "scope": scope or None,
        "deadline": day.isoformat() if day else None,
        "span": None,
        "confirmed": True,
    }


def target_words(value: float, unit: str, direction: str, scope: str | None) -> str:
    """Return a target in words: 每年达到300个."""
    return f"{scope or ''}{DIRECTION_LABELS.get(direction, '')}{number_text(value)}{unit}"


def add_task_targets(*, session: Session, item_id: int, targets: Iterable[Target]) -> None:
    """Store the published targets of a task (a policy item of one version)."""
    for position, t in enumerate(targets):
        session.add(
            TaskTarget(
                item_id=item_id,
                position=position,
                text=t.text[:TEXT_MAX_CHARS],
                value=t.value,
                unit=t.unit[:16],
                direction=t.direction,
                scope=(t.scope or None) and t.scope[:SCOPE_MAX_CHARS],
                deadline_date=t.deadline,
            )
        )


def _current_items(session: Session, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Return the current version's item id of each (policy id, item number)."""
    if not pairs:
        return {}
    rows = session.execute(
        select(Policy.id, PolicyItem.number, PolicyItem.id)
        .join(PolicyVersion, PolicyVersion.policy_id == Policy.id)
        .join(PolicyItem, PolicyItem.version_id == PolicyVersion.id)
        .where(
            PolicyVersion.version == Policy.current_version,
            Policy.id.in_({p for p, _ in pairs}),
            PolicyItem.number.in_({n for _, n in pairs}),
        )
    ).all()
    return {(p, n): i for p, n, i in rows if (p, n) in pairs}


def targets_by_item(session: Session, item_ids: Iterable[int]) -> dict[int, list[TaskTarget]]:
    """Return the targets of each item, in the order of the text."""
    out: dict[int, list[TaskTarget]] = {}
    rows = session.scalars(
        select(TaskTarget)
        .where(TaskTarget.item_id.in_(set(item_ids)))
        .order_by(TaskTarget.item_id, TaskTarget.position)
    )
    for row in rows:
        out.setdefault(row.item_id, []).append(row)
    return out


def targets_of(*, session: Session, assignment: Assignment) -> list[TaskTarget]:
    """Return the targets the assignment reports against (its task's, in the current version)."""
    key = (assignment.policy_id, assignment.item_number)
    item = _current_items(session, {key}).get(key)
    return [] if item is None else targets_by_item(session, [item]).get(item, [])


def check_actuals(
    *, session: Session, assignment: Assignment, raw: Mapping[str, str]
) -> dict[str, float]:
    """Return the actuals of a report keyed by target id, checked against each target's unit.

    Every target of the assignment needs a figure; a figure may repeat its unit (85%, 12所) but not
    give another one. Raise Invalid naming the target on the first bad figure.
    """
    targets = {str(t.id): t for t in targets_of(session=session, assignment=assignment)}
    unknown = sorted(set(raw) - set(targets))
    if unknown:
        raise Invalid(f"本事项没有编号为 {', '.join(unknown)[:60]} 的指标")
    out: dict[str, float] = {}
    for key, target in targets.items():
        out[key] = checked_actual(raw.get(key, ""), target)
    return out


def checked_actual(raw: str, target: TaskTarget) -> float:
    """Return one reported figure, checked for the target's unit."""
    label = f"指标“{target.text[:30] or target_words(target.value, target.unit, target.direction, target.scope)}”的实际值"
    text = (raw or "").strip().replace("％", "%")
    if not text:
        raise Invalid(f"请填写{label}（单位：{target.unit}）")
    number = text.removesuffix(target.unit) if text.endswith(target.unit) else text
    if number != text and not number.strip():
        raise Invalid(f"{label}“{text[:20]}”缺少数字")
    trailing = re.search(r"[^\d.,，．０-９\s+-]+$", number)
    if trailing and UNIT_RE.fullmatch(trailing.group(0)):  # another unit: 80人 for a %
        raise Invalid(f"{label}的单位应为“{target.unit}”，不是“{trailing.group(0)[:8]}”")
    value = parse_number(number, label=label)
    if value < 0 and target.direction != "increase_by":
        raise Invalid(f"{label}不能为负数")
    if target.unit in _WHOLE_UNITS and not value.is_integer():
        raise Invalid(f"{label}须为整数（单位：{target.unit}）")
    if target.unit in _PERCENT and target.direction != "increase_by" and not 0 <= value <= 100:
        raise Invalid(f"{label}须在 0 至 100（%）之间")
    return value


def record_actuals(*, session: Session, submission_id: int, actuals: Mapping[str, float]) -> None:
    """Store a submission's actuals (targets gone since are skipped)."""
    known = set(
        session.scalars(select(TaskTarget.id).where(TaskTarget.id.in_([int(k) for k in actuals])))
    )
    for key, value in actuals.items():
        if int(key) in known:
            session.add(TargetActual(submission_id=submission_id, target_id=int(key), value=value))


@dataclass(frozen=True)
class ShownTarget:
    """A task's target as one assignment reports against it: a sub-assignment's is its share.

    Same fields as `TaskTarget`; `full_value` is the task's own value and `share` the percentage
    taken (None: the target as written)."""

    id: int
    item_id: int
    position: int
    text: str
    value: float
    unit: str
    direction: str
    scope: str | None
    deadline_date: date | None
    full_value: float
    share: int | None

    @property
    def share_note(self) -> str:
        """Return 上级指标 300个 的 60% for a divided target, else ""."""
        if self.share is None or self.value == self.full_value:
            return ""
        return f"上级指标 {number_text(self.full_value)}{self.unit} 的 {self.share}%"


def shown_target(target: TaskTarget, assignment: Assignment) -> ShownTarget:
    """Return the target as `assignment` reports against it (a sub-assignment: its share)."""
    share = assignment.target_share if assignment.parent_id is not None else None
    return ShownTarget(
        id=target.id,
        item_id=target.item_id,
        position=target.position,
        text=target.text,
        value=shared_target_value(target.value, unit=target.unit, share=share),
        unit=target.unit,
        direction=target.direction,
        scope=target.scope,
        deadline_date=target.deadline_date,
        full_value=target.value,
        share=share,
    )


@dataclass(frozen=True)
class TargetPoint:
    """The actual a department reported for a period: the last report of the period counts."""

    period_index: int
    label: str
    day: date
    value: float


@dataclass(frozen=True)
class TargetSeries:
    """One department's actuals of a target over its periods."""

    label: str
    points: tuple[TargetPoint, ...]
    projection: Projection | None


@dataclass(frozen=True)
class TargetTrack:
    """A target with its actuals, one series per assignment shown."""

    target: TaskTarget | ShownTarget
    series: tuple[TargetSeries, ...]

    @property
    def words(self) -> str:
        """Return the target in words (每年达到300个)."""
        t = self.target
        return target_words(t.value, t.unit, t.direction, t.scope)


def _actual_rows(
    session: Session, assignment_ids: Sequence[int]
) -> dict[tuple[int, int], list[TargetPoint]]:
    """Return the points of each (assignment, target): the latest report of each period."""
    rows = session.execute(
        select(Submission, TargetActual, AssignmentPeriod.label)
        .join(TargetActual, TargetActual.submission_id == Submission.id)
        .outerjoin(
            AssignmentPeriod,
            (AssignmentPeriod.assignment_id == Submission.assignment_id)
            & (AssignmentPeriod.index == Submission.period_index),
        )
        .where(Submission.assignment_id.in_(assignment_ids))
        .order_by(Submission.submitted_at, Submission.id)
    ).all()
    latest: dict[tuple[int, int, int], TargetPoint] = {}
    for sub, actual, label in rows:
        point = TargetPoint(
            sub.period_index,
            label or f"第{sub.period_index + 1}期",
            sub.submitted_at.date(),
            actual.value,
        )
        latest[(sub.assignment_id, actual.target_id, sub.period_index)] = point
    out: dict[tuple[int, int], list[TargetPoint]] = {}
    for (aid, tid, _), point in sorted(latest.items(), key=lambda kv: kv[1].day):
        out.setdefault((aid, tid), []).append(point)
    return out


def _series(
    label: str, target: TaskTarget | ShownTarget, points: list[TargetPoint], today: date
) -> TargetSeries:
    projection = project_target(
        target=target.value,
        unit=target.unit,
        direction=target.direction,
        deadline=target.deadline_date,
        points=[(p.day, p.value) for p in points],
        today=today,
    )
    return TargetSeries(label, tuple(points), projection)


def tracks_of(
    *, session: Session, assignments: Sequence[Assignment], today: date
) -> dict[int, list[TargetTrack]]:
    """Return the tracks of each assignment's targets (empty lists for none); a sub-assignment's
    targets are its share of the task's (`shown_target`)."""
    items = _current_items(session, {(a.policy_id, a.item_number) for a in assignments})
    by_item = targets_by_item(session, items.values())
    # Without targets there is nothing to read actuals for (most tasks have none).
    points = _actual_rows(session, [a.id for a in assignments]) if by_item else {}
    out: dict[int, list[TargetTrack]] = {}
    for a in assignments:
        targets = by_item.get(items.get((a.policy_id, a.item_number), -1), [])
        shown = [shown_target(t, a) for t in targets]
        out[a.id] = [
            TargetTrack(t, (_series(a.department.name, t, points.get((a.id, t.id), []), today),))
            for t in shown
        ]
    return out


ROLLUP_LABEL = "下级合计"


def rollup_tracks(
    *, session: Session, parent: Assignment, children: Sequence[Assignment], today: date
) -> list[TargetTrack]:
    """Return the parent's targets with a line per child and the roll-up of their actuals.

    Per period, the roll-up is the sum of the children's latest actuals for a quantity and their
    share-weighted mean for a rate (`duban.rules.rolled_up_value`); a child that has not reported
    in a period adds nothing to it. The roll-up is projected against the parent's own target.
    Children's lines carry no projection here (each has its own against its share on its page).
    """
    if not children:
        return []
    own = tracks_of(session=session, assignments=[parent], today=today)[parent.id]
    per = tracks_of(session=session, assignments=children, today=today)
    out: list[TargetTrack] = []
    for i, track in enumerate(own):
        target = track.target
        lines: list[TargetSeries] = []
        by_period: dict[int, list[tuple[TargetPoint, int | None]]] = {}
        for child in children:
            if len(per[child.id]) <= i:
                continue
            series = per[child.id][i].series[0]
            lines.append(TargetSeries(series.label, series.points, None))
            for point in series.points:
                by_period.setdefault(point.period_index, []).append((point, child.target_share))
        points = []
        for index in sorted(by_period):
            reported = by_period[index]
            value = rolled_up_value(target.unit, [(p.value, share) for p, share in reported])
            if value is None:
                continue
            label = f"{reported[0][0].label}（{len(reported)}/{len(children)} 单位）"
            points.append(TargetPoint(index, label, max(p.day for p, _ in reported), value))
        lines.append(_series(ROLLUP_LABEL, target, points, today))
        out.append(TargetTrack(target, tuple(lines)))
    return out


def first_miss(tracks: Iterable[TargetTrack]) -> Projection | None:
    """Return the first projection of the tracks that misses its target, if any."""
    return next(
        (s.projection for t in tracks for s in t.series if s.projection and not s.projection.meets),
        None,
    )


def projected_misses(
    *, session: Session, assignments: Sequence[Assignment], today: date
) -> dict[int, Projection]:
    """Return, for each assignment with a target projected to miss its deadline, the first such."""
    per = tracks_of(session=session, assignments=assignments, today=today)
    return {aid: miss for aid, tracks in per.items() if (miss := first_miss(tracks)) is not None}


def task_tracks(
    per: Mapping[int, list[TargetTrack]], assignments: Sequence[Assignment]
) -> list[TargetTrack]:
    """Return one task's targets with a series per department (`per`: tracks of each assignment);
    the target line is the task's own (a top-level assignment's, not a sub-assignment's share)."""
    ordered = sorted(assignments, key=lambda a: a.parent_id is not None)
    tracks = [per[a.id] for a in ordered if per.get(a.id)]
    if not tracks:
        return []
    return [
        TargetTrack(first.target, tuple(t[i].series[0] for t in tracks if len(t) > i))
        for i, first in enumerate(tracks[0])
    ]


TARGET_EXPORT_HEADER = [
    "任务",
    "单位",
    "指标",
    "原文",
    "目标值",
    "计量单位",
    "方向",
    "范围",
    "期限",
    "期次",
    "报送日期",
    "实际值",
    "趋势预计值",
    "预计达标",
]


def target_export_rows(
    *, session: Session, assignments: Sequence[Assignment], titles: Mapping[int, str], today: date
) -> list[list[object]]:
    """Return the targets sheet of an export: a row per reported actual (one when none yet)."""
    out: list[list[object]] = []
    per = tracks_of(session=session, assignments=assignments, today=today)
    for a in assignments:
        for track in per[a.id]:
            t, series = track.target, track.series[0]
            p = series.projection
            head: list[object] = [
                titles.get(a.id, f"（{a.item_number}）"),
                a.department.name,
                track.words,
                t.text,
                t.value,
                t.unit,
                DIRECTION_LABELS.get(t.direction, t.direction),
                t.scope or "",
                t.deadline_date.isoformat() if t.deadline_date else "",
            ]
            tail: list[object] = [
                round(p.value, 2) if p else "",
                ("是" if p.meets else "否") if p else "",
            ]
            points = series.points or (None,)
            for point in points:
                cells: list[object] = (
                    [point.label, point.day.isoformat(), point.value] if point else ["", "", ""]
                )
                out.append(head + cells + tail)
    return out


def period_attainment(
    *, session: Session, assignment_ids: Iterable[int], as_of: datetime
) -> dict[tuple[int, int], tuple[int, int]]:
    """Return (targets met, targets reported) of each (assignment, period) by its last report
    (a sub-assignment against its share of the target)."""
    ids = sorted(set(assignment_ids))
    latest: dict[tuple[int, int, int], tuple[float, float, str]] = {}
    for start in range(0, len(ids), 500):  # keep IN lists short on every backend
        rows = session.execute(
            select(
                Submission.assignment_id,
                Submission.period_index,
                TargetActual,
                TaskTarget,
                Assignment.parent_id,
                Assignment.target_share,
            )
            .join(TargetActual, TargetActual.submission_id == Submission.id)
            .join(TaskTarget, TaskTarget.id == TargetActual.target_id)
            .join(Assignment, Assignment.id == Submission.assignment_id)
            .where(
                Submission.assignment_id.in_(ids[start : start + 500]),
                Submission.submitted_at <= as_of,
            )
            .order_by(Submission.submitted_at, Submission.id)
        ).all()
        for aid, index, actual, target, parent_id, share in rows:
            goal = shared_target_value(
                target.value, unit=target.unit, share=share if parent_id is not None else None
            )
            latest[(aid, index, target.id)] = (actual.value, goal, target.direction)
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for (aid, index, _), (value, goal, direction) in latest.items():
        met, total = out.get((aid, index), (0, 0))
        hit = meets_target(value, target=goal, direction=direction)
        out[(aid, index)] = (met + int(hit), total + 1)
    return out
