"""The rules of an assignment, stated once: its traffic light, which actions its state allows,
and the limits of a review. Pure (stdlib and duban.domain only): the workflows' validators, the
services and the pages all call these, so they cannot disagree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from duban.domain import AssignmentState

S = AssignmentState
AMBER_WINDOW = timedelta(days=7)
DONE_STATES = frozenset({S.COMPLETED, S.APPROVED})
# States in which the department still owes a report: reminders and the ladder run.
# A report held for the head's sign-off has not reached the supervisors: the ladder runs on.
WAITING_STATES = frozenset({S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.RETURNED, S.HEAD_REVIEW})
# A report needs the task taken on (签收) first.
REPORTABLE_STATES = WAITING_STATES - {S.ASSIGNED}
# Closed: every period done, or withdrawn by a newer version of its policy (the workflow
# records both as `completed`). Nothing more is added to a closed assignment's evidence.
CLOSED_STATES = frozenset({S.COMPLETED})
RATING_MIN, RATING_MAX = 1, 5


class Light(StrEnum):
    """The status light of an assignment."""

    RED = "red"
    AMBER = "amber"
    GREEN = "green"


LIGHT_RANK = {Light.RED: 0, Light.AMBER: 1, Light.GREEN: 2}


@dataclass(frozen=True)
class StatusLight:
    """A light with the reason it shows, in Chinese."""

    color: Light
    reason: str


DIRECTION_LABELS = {
    "at_least": "不低于",
    "at_most": "不超过",
    "reach": "达到",
    "increase_by": "增长",
}


@dataclass(frozen=True)
class Projection:
    """Where the linear trend of a target's actuals stands on its deadline, and whether it meets it."""

    value: float
    target: float
    unit: str
    direction: str
    deadline: date
    meets: bool

    @property
    def reason(self) -> str:
        """Return why the light turns amber, in Chinese."""
        return (
            f"指标预计难以完成：按目前趋势至 {self.deadline.isoformat()} 约为 "
            f"{number_text(self.value)}{self.unit}，目标{DIRECTION_LABELS.get(self.direction, '')}"
            f"{number_text(self.target)}{self.unit}"
        )


def number_text(value: float) -> str:
    """Return a value as people write it: whole numbers without a point, others to two places."""
    rounded = round(value, 2)
    return str(int(rounded)) if float(rounded).is_integer() else f"{rounded:g}"


def linear_trend(points: Sequence[tuple[date, float]], at: date) -> float | None:
    """Return the least-squares line through the dated actuals, read at `at`.

    None with fewer than two different days: one report shows no trend.
    """
    if len({day for day, _ in points}) < 2:
        return None
    xs = [float(day.toordinal()) for day, _ in points]
    ys = [value for _, value in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return mean_y + slope * (at.toordinal() - mean_x)


def meets_target(value: float, *, target: float, direction: str) -> bool:
    """Return whether an actual meets a target: at most (or a fall) from above, the rest from below."""
    if direction == "at_most" or (direction == "increase_by" and target < 0):
        return value <= target
    return value >= target


def project_target(
    *,
    target: float,
    unit: str,
    direction: str,
    deadline: date | None,
    points: Sequence[tuple[date, float]],
    today: date,
) -> Projection | None:
    """Return the trend of the actuals projected to the target's deadline (None: nothing to project)."""
    if deadline is None or deadline < today:
        return None
    value = linear_trend(points, deadline)
    if value is None:
        return None
    met = meets_target(value, target=target, direction=direction)
    return Projection(value, target, unit, direction, deadline, met)


def status_light(
    *,
    due_at: datetime | None,
    now: datetime,
    state: str,
    miss: Projection | None = None,
) -> StatusLight:
    """Return red when overdue, amber when due within 7 days or when a target is projected to
    miss its deadline (`miss`), otherwise green (with why)."""
    if state in DONE_STATES:
        return StatusLight(Light.GREEN, "已完成")
    if state == S.SUBMITTED:
        return StatusLight(Light.GREEN, "已报送，待审核")
    if due_at is not None and due_at <= now:
        days = (now - due_at).days
        return StatusLight(Light.RED, f"已逾期 {days} 天" if days else "今日已到期")
    if due_at is not None and due_at - now <= AMBER_WINDOW:
        days = (due_at - now).days
        return StatusLight(Light.AMBER, f"{days} 天内到期" if days else "今日到期")
    if miss is not None and not miss.meets:
        return StatusLight(Light.AMBER, miss.reason)
    if due_at is None:
        return StatusLight(Light.GREEN, "暂无截止时间")
    return StatusLight(Light.GREEN, "进度正常")


def urgency_key(light: StatusLight, due_at: datetime | None, state: str) -> tuple[int, int, float]:
    """Sort key: red before amber before green, finished last, earlier due first."""
    finished = 1 if state in DONE_STATES else 0
    stamp = due_at.timestamp() if due_at is not None else float("inf")
    return (finished, LIGHT_RANK[light.color], stamp)


@dataclass(frozen=True)
class Refusal:
    """Why an action is not allowed: a stable code (`conflict`, `invalid`) and a Chinese message."""

    code: str
    message: str


@dataclass(frozen=True)
class ActionFlags:
    """What the department may do on an assignment in its current state; pages show these."""

    can_acknowledge: bool
    can_submit: bool
    can_request_extension: bool
    can_upload: bool
    awaiting_review: bool
    awaiting_sign_off: bool = False


def acknowledge_refusal(state: str) -> Refusal | None:
    """Refuse 签收 of a task already taken on."""
    if state != S.ASSIGNED:
        return Refusal("conflict", "该任务已签收")
    return None


def submit_refusal(state: str) -> Refusal | None:
    """Refuse a report before 签收, or while none is owed."""
    if state == S.ASSIGNED:
        return Refusal("conflict", "请先签收，再报送工作进展")
    if state not in REPORTABLE_STATES:
        return Refusal("conflict", "本期已报送，请等待审核结果")
    return None


def extension_refusal(state: str) -> Refusal | None:
    """Refuse an extension request while no report is owed."""
    if state not in WAITING_STATES:
        return Refusal("conflict", "本期已报送，无需申请延期")
    return None


def extension_date_refusal(
    requested: datetime, *, now: datetime, due_at: datetime | None
) -> Refusal | None:
    """Refuse a requested due date that is not zone-aware, not ahead, or not after the current one."""
    if requested.tzinfo is None:
        return Refusal("invalid", "申请的截止时间须带时区。")
    if requested <= now:
        return Refusal("invalid", "申请的截止时间必须晚于当前时间。")
    if due_at is not None and requested <= due_at:
        return Refusal("invalid", "申请的截止时间必须晚于当前截止时间。")
    return None


def upload_refusal(state: str) -> Refusal | None:
    """Refuse new evidence (an upload, or an earlier file reused) once the assignment is closed."""
    if state in CLOSED_STATES:
        return Refusal("assignment_closed", "该任务已办结或已撤销，不能再上传或附加证据材料。")
    return None


def rating_refusal(rating: int | None) -> Refusal | None:
    """Refuse an approval without a rating from 1 to 5."""
    if rating is None or not RATING_MIN <= rating <= RATING_MAX:
        return Refusal("invalid", f"评分须为 {RATING_MIN} 至 {RATING_MAX} 分。")
    return None


def action_flags(state: str) -> ActionFlags:
    """Return which of the department's actions the state allows."""
    return ActionFlags(
        can_acknowledge=acknowledge_refusal(state) is None,
        can_submit=submit_refusal(state) is None,
        can_request_extension=extension_refusal(state) is None,
        can_upload=upload_refusal(state) is None,
        awaiting_review=state == S.SUBMITTED,
        awaiting_sign_off=state == S.HEAD_REVIEW,
    )


# 催办: a second urge of the same assignment within this window is refused, not sent again.
URGE_COOLDOWN = timedelta(hours=1)


def urge_refusal(
    last_at: datetime | None, *, now: datetime, cooldown: timedelta = URGE_COOLDOWN
) -> Refusal | None:
    """Refuse an urge while the previous one is still within the cooldown (times in Beijing)."""
    if last_at is None or now - last_at >= cooldown:
        return None
    beijing = timedelta(hours=8)
    again = (last_at + cooldown + beijing).strftime("%H:%M")
    done = (last_at + beijing).strftime("%H:%M")
    minutes = max(1, int((cooldown - (now - last_at)).total_seconds() // 60))
    return Refusal(
        "urge_cooldown",
        f"已于 {done} 催办过，{minutes} 分钟内不能重复催办（{again} 后可再次催办）。",
    )


# -- report templates (issue 15): what a period's report must hold ----------------------------

FIELD_TYPES = {"text": "文本", "number": "数值", "date": "日期", "choice": "选项"}
# Kinds of evidence a template may require, told from the content type sniffed at upload.
EVIDENCE_KINDS = {
    "pdf": "PDF 文件",
    "image": "图片",
    "document": "文字文档（Word/WPS/ODT）",
    "spreadsheet": "表格（Excel/ODS）",
    "presentation": "演示文稿（PowerPoint/ODP）",
    "archive": "压缩包（ZIP）",
}
_KIND_BY_TYPE = {
    "application/pdf": "pdf",
    "application/zip": "archive",
    "application/msword": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.oasis.opendocument.text": "document",
    "application/vnd.ms-excel": "spreadsheet",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "spreadsheet",
    "application/vnd.oasis.opendocument.spreadsheet": "spreadsheet",
    "application/vnd.ms-powerpoint": "presentation",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "presentation",
    "application/vnd.oasis.opendocument.presentation": "presentation",
}
MAX_FIELDS, MAX_CHOICES, MAX_LABEL, MAX_UNIT, MAX_ANSWER = 20, 20, 50, 20, 2000
FIELD_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
NUMBER_RE = re.compile(r"^[+-]?(\d{1,15}(\.\d{1,6})?|\.\d{1,6})$")


@dataclass(frozen=True)
class ReportField:
    """One typed field of a report form: `name` is the key, `label` is shown (Chinese)."""

    name: str
    label: str
    type: str
    required: bool = False
    unit: str = ""
    choices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReportSpec:
    """What each period's report of a task must hold: form fields and kinds of evidence."""

    fields: list[ReportField] = field(default_factory=list)
    evidence_kinds: list[str] = field(default_factory=list)


def spec_json(spec: ReportSpec | None) -> str:
    """Return a template as JSON text (what a workflow input carries), "" for none."""
    return json.dumps(asdict(spec), ensure_ascii=False, sort_keys=True) if spec else ""


def spec_of_json(text: str) -> ReportSpec | None:
    """Return the template that `spec_json` wrote ("" is none)."""
    if not text:
        return None
    data = json.loads(text)
    return ReportSpec(
        fields=[ReportField(**f) for f in data.get("fields", [])],
        evidence_kinds=list(data.get("evidence_kinds", [])),
    )


def evidence_kind(content_type: str) -> str:
    """Return the evidence kind of a sniffed content type (`image`, `pdf`, ...; `other`)."""
    if content_type.startswith("image/"):
        return "image"
    return _KIND_BY_TYPE.get(content_type, "other")


def _field_errors(f: ReportField) -> list[str]:
    """Return what is wrong with one field definition."""
    where = f"字段“{f.label or f.name}”"
    errors = []
    if not FIELD_NAME_RE.match(f.name):
        errors.append(f"{where}的名称须为小写字母开头的字母、数字或下划线（至多 32 个）")
    if f.type not in FIELD_TYPES:
        errors.append(f"{where}的类型须为 text、number、date 或 choice")
    if not f.label.strip() or len(f.label) > MAX_LABEL:
        errors.append(f"{where}须有标签，至多 {MAX_LABEL} 字")
    if len(f.unit) > MAX_UNIT or (f.unit and f.type != "number"):
        errors.append(f"{where}：只有数值字段可带单位，至多 {MAX_UNIT} 字")
    if f.type == "choice":
        opts = [c.strip() for c in f.choices]
        if not 2 <= len(opts) <= MAX_CHOICES or any(not c or len(c) > MAX_LABEL for c in opts):
            errors.append(f"{where}须有 2 至 {MAX_CHOICES} 个选项，每项至多 {MAX_LABEL} 字")
        elif len(set(opts)) != len(opts):
            errors.append(f"{where}的选项重复")
    elif f.choices:
        errors.append(f"{where}：只有选项字段可列选项")
    return errors


def template_errors(spec: ReportSpec) -> list[str]:
    """Return what is wrong with a template definition (empty when it is good)."""
    if len(spec.fields) > MAX_FIELDS:
        return [f"报送模板至多 {MAX_FIELDS} 个字段（当前 {len(spec.fields)} 个）"]
    errors = [e for f in spec.fields for e in _field_errors(f)]
    names = [f.name for f in spec.fields]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        errors.append(f"字段名称重复：{'、'.join(dupes)}")
    kinds = spec.evidence_kinds
    if bad := [k for k in kinds if k not in EVIDENCE_KINDS]:
        errors.append(f"未知的证据类别：{'、'.join(bad[:5])}")
    elif len(set(kinds)) != len(kinds):
        errors.append("证据类别重复")
    return errors


def _answer_error(f: ReportField, value: str) -> str | None:
    """Return why one answer is not acceptable for its field, or None."""
    if not value:
        return f"请填写“{f.label}”" if f.required else None
    if len(value) > MAX_ANSWER:
        return f"“{f.label}”至多 {MAX_ANSWER} 字"
    if f.type == "number" and not NUMBER_RE.match(value.replace(",", "")):
        return f"“{f.label}”须为数字{f'（单位：{f.unit}）' if f.unit else ''}"
    if f.type == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return f"“{f.label}”须为日期（年-月-日）"
    if f.type == "choice" and value not in f.choices:
        return f"“{f.label}”须从给定选项中选择"
    return None


def answer_errors(spec: ReportSpec, answers: dict[str, str]) -> dict[str, str]:
    """Return the errors of a report's answers by field name ("" for unknown fields)."""
    known = {f.name for f in spec.fields}
    errors = {}
    if unknown := sorted(set(answers) - known):
        errors[""] = f"报送模板中没有这些字段：{'、'.join(unknown[:5])}"
    for f in spec.fields:
        if (message := _answer_error(f, answers.get(f.name, "").strip())) is not None:
            errors[f.name] = message
    return errors


def normalize_answers(spec: ReportSpec, answers: dict[str, str]) -> dict[str, str]:
    """Return the answers stripped, in field order, without empty ones (numbers without commas)."""
    out = {}
    for f in spec.fields:
        value = answers.get(f.name, "").strip()
        if value:
            out[f.name] = value.replace(",", "") if f.type == "number" else value
    return out


def missing_evidence_kinds(spec: ReportSpec, kinds: list[str]) -> list[str]:
    """Return the required evidence kinds that none of the attached files is."""
    return [k for k in spec.evidence_kinds if k not in kinds]


def report_refusal(
    spec: ReportSpec | None, answers: dict[str, str], evidence_kinds: list[str]
) -> Refusal | None:
    """Refuse a report that misses a required field, has a bad answer or lacks evidence kinds."""
    if spec is None:
        return Refusal("invalid", "报送模板中没有这些字段") if answers else None
    reasons = list(answer_errors(spec, answers).values())
    if missing := missing_evidence_kinds(spec, evidence_kinds):
        names = "、".join(EVIDENCE_KINDS[k] for k in missing)
        reasons.append(f"本期报送须附上：{names}")
    return Refusal("invalid", "；".join(reasons) + "。") if reasons else None


# 层层分解: a sub-assignment's share of its parent's targets, in whole percent.
SHARE_MIN, SHARE_MAX = 0, 100


def child_open(state: str) -> bool:
    """Tell whether a sub-assignment still owes its report (not yet reported nor finished)."""
    return state in WAITING_STATES


def cascade_submit_refusal(
    *, final_period: bool, open_children: list[str], waived: bool
) -> Refusal | None:
    """Refuse submitting a parent as done while sub-assignments are open, unless waived."""
    if not final_period or not open_children or waived:
        return None
    names = "、".join(open_children[:5]) + ("等" if len(open_children) > 5 else "")
    return Refusal(
        "children_open",
        f"下级分解任务尚未完成（{names}，共 {len(open_children)} 项）：待其报送，"
        "或请督查室同意豁免后，才能报送办结。",
    )


def child_due_refusal(
    due_at: datetime, *, now: datetime, parent_due_at: datetime | None
) -> Refusal | None:
    """Refuse a sub-assignment's due date that is naive, past, or later than its parent's."""
    if due_at.tzinfo is None:
        return Refusal("invalid", "分解任务的截止时间须带时区。")
    if due_at <= now:
        return Refusal("invalid", "分解任务的截止时间必须晚于当前时间。")
    if parent_due_at is not None and due_at > parent_due_at:
        return Refusal("child_due_after_parent", "分解任务的截止时间不能晚于上级任务的截止时间。")
    return None


# Units a share does not divide: a rate (85%, 2个百分点, 1.3倍) or a time limit (5个工作日) holds for
# every unit below as it holds for the whole; everything else (个, 所, 公里, 万元…) is a quantity.
_UNSHARED_UNITS = frozenset(
    {
        "%",
        "％",
        "个百分点",
        "百分点",
        "倍",
        "年",
        "个月",
        "月",
        "日",
        "天",
        "小时",
        "个工作日",
        "工作日",
    }
)


def is_rate_unit(unit: str) -> bool:
    """Tell whether a target in this unit is a rate or a time limit (not divided by a share)."""
    return unit in _UNSHARED_UNITS


def shared_target_value(value: float, *, unit: str, share: int | None) -> float:
    """Return a sub-assignment's target: the parent's × share/100 for a quantity, else the parent's.

    `share` None (an assignment not split from another, or one fanned out without a share) keeps
    the target as written.
    """
    if share is None or is_rate_unit(unit):
        return value
    return value * share / 100


def rolled_up_value(unit: str, figures: Sequence[tuple[float, int | None]]) -> float | None:
    """Return the children's actuals of one period rolled up: the sum for a quantity, the
    share-weighted mean for a rate (the plain mean when the shares add up to 0). `figures`: each
    reporting child's (actual, share); None when no child reported."""
    if not figures:
        return None
    if not is_rate_unit(unit):
        return sum(v for v, _ in figures)
    weight = sum(s or 0 for _, s in figures)
    if weight == 0:
        return sum(v for v, _ in figures) / len(figures)
    return sum(v * (s or 0) for v, s in figures) / weight


def share_refusal(share: int, *, others: int) -> Refusal | None:
    """Refuse a share outside 0–100 % or one that takes the children's total over 100 %."""
    if not SHARE_MIN <= share <= SHARE_MAX:
        return Refusal("invalid", f"指标分解比例须在 {SHARE_MIN}% 至 {SHARE_MAX}% 之间。")
    if others + share > SHARE_MAX:
        return Refusal(
            "shares_over_100",
            f"各分解任务的指标比例合计不能超过 100%（已分 {others}%，本次 {share}%）。",
        )
    return None
