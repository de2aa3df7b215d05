"""`replan`: how a newer policy version's plan is fitted to a running assignment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from duban.domain import AssignmentState
from workflows.assignment_messages import AssignmentCarry, PeriodSpec
from workflows.assignment_rules import replan

NOW = datetime(2026, 11, 28, 8, tzinfo=UTC)


def day(month: int, dd: int, year: int = 2026) -> datetime:
    return datetime(year, month, dd, 15, 59, 59, tzinfo=UTC)


def plan(*dues: tuple[datetime, str], historic: int = 0) -> list[PeriodSpec]:
    return [
        PeriodSpec(i, due, label, "deadline" if "前" in label else "cadence", i < historic)
        for i, (due, label) in enumerate(dues)
    ]


V1 = plan(
    (day(6, 30, 2025), "2025年6月底前"),
    (day(12, 15), "2026年12月15日前"),
    (day(12, 31), "2026年第四季度"),
    (day(3, 31, 2027), "2027年第一季度"),
    historic=1,
)


def running(index: int = 1, **changes: object) -> AssignmentCarry:
    s = AssignmentCarry(period_index=index, period_begun=True, policy_version=1)
    s.state, s.due_at = AssignmentState.IN_PROGRESS, V1[index].due_at
    for name, value in changes.items():
        setattr(s, name, value)
    return s


def test_the_same_plan_changes_nothing():
    assert replan(V1, list(V1), running(), NOW) is None


def test_a_new_deadline_after_the_open_period_is_planned_and_the_past_is_kept():
    v2 = plan(
        (day(6, 30, 2025), "2025年6月底前"),
        (day(12, 15), "2026年12月15日前"),
        (day(12, 31), "2026年第四季度"),
        (day(2, 28, 2027), "2027年2月底前"),
        (day(3, 31, 2027), "2027年第一季度"),
        historic=1,
    )
    result = replan(V1, v2, running(), NOW)
    assert result is not None and result.due_at is None
    assert result.periods[:2] == V1[:2]  # the historic one and the open one stay as they were
    assert [(p.index, p.label) for p in result.new] == [
        (2, "2026年第四季度"),
        (3, "2027年2月底前"),
        (4, "2027年第一季度"),
    ]


def test_a_moved_deadline_moves_the_open_period_to_the_next_due_date_ahead():
    v2 = plan(
        (day(6, 30, 2025), "2025年6月底前"),
        (day(12, 31), "2026年第四季度"),
        (day(1, 20, 2027), "2027年1月20日前"),
        (day(3, 31, 2027), "2027年第一季度"),
        historic=1,
    )
    result = replan(V1, v2, running(), NOW)
    assert result is not None
    assert result.due_at == day(12, 31)
    assert result.periods[1] == V1[1]  # the planned (original) due date stays on record
    assert [(p.index, p.due_at) for p in result.new] == [
        (2, day(1, 20, 2027)),
        (3, day(3, 31, 2027)),
    ]
    # Applying the same revision again changes nothing more.
    moved = running(due_at=day(12, 31))
    assert replan(result.periods, v2, moved, NOW) is None


def test_an_approved_period_is_not_moved():
    v2 = [p for p in V1 if p.index != 1]
    result = replan(V1, v2, running(state=AssignmentState.APPROVED), NOW)
    assert result is None or result.due_at is None


def test_closed_periods_never_change_even_when_the_revision_drops_them():
    s = running(index=2)
    v2 = plan((day(12, 31), "2026年第四季度"), (day(6, 30, 2027), "2027年第二季度"))
    result = replan(V1, v2, s, NOW)
    assert result is not None
    assert result.periods[:3] == V1[:3]
    assert [(p.index, p.due_at) for p in result.new] == [(3, day(6, 30, 2027))]


def test_between_periods_only_dates_ahead_are_planned():
    s = AssignmentCarry(period_index=4, period_begun=False, policy_version=1)
    later = V1[-1].due_at + timedelta(days=91)
    v2 = [*V1, PeriodSpec(4, later, "2027年第二季度")]
    result = replan(V1, v2, s, NOW)
    assert result is not None and result.due_at is None
    assert [(p.index, p.due_at) for p in result.new] == [(4, later)]


def test_the_timeline_names_the_revision_and_a_moved_due_date():
    from duban.services.timeline import timeline_label

    assert timeline_label("revised", {"policy_version": 2, "due_at": None}) == (
        "政策文件修订（第2版，计划重排）"
    )
    assert "本期期限已调整" in timeline_label("revised", {"policy_version": 3, "due_at": "x"})
    assert timeline_label("revised") == "政策文件修订"
