"""The rules of an assignment, stated once: its traffic light, which actions its state allows,
and the limits of a review. Pure (stdlib and duban.domain only): the workflows' validators, the
services and the pages all call these, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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


def status_light(*, due_at: datetime | None, now: datetime, state: str) -> StatusLight:
    """Return red when overdue, amber when due within 7 days, otherwise green (with why)."""
    if state in DONE_STATES:
        return StatusLight(Light.GREEN, "已完成")
    if state == S.SUBMITTED:
        return StatusLight(Light.GREEN, "已报送，待审核")
    if due_at is None:
        return StatusLight(Light.GREEN, "暂无截止时间")
    if due_at <= now:
        days = (now - due_at).days
        return StatusLight(Light.RED, f"已逾期 {days} 天" if days else "今日已到期")
    if due_at - now <= AMBER_WINDOW:
        days = (due_at - now).days
        return StatusLight(Light.AMBER, f"{days} 天内到期" if days else "今日到期")
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
        can_upload=state in WAITING_STATES,
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
