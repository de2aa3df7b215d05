"""The target rules, pure: the linear trend of actuals, the projection to a deadline, the amber light."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from duban.rules import (
    Light,
    Projection,
    linear_trend,
    meets_target,
    number_text,
    project_target,
    status_light,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
TODAY = NOW.date()
DEADLINE = date(2026, 12, 31)


def test_a_line_through_two_reports_reads_on_at_the_deadline() -> None:
    points = [(date(2026, 1, 1), 10.0), (date(2026, 1, 11), 20.0)]
    assert linear_trend(points, date(2026, 1, 21)) == pytest.approx(30.0)


def test_the_least_squares_line_evens_out_a_noisy_series() -> None:
    points = [(date(2026, 1, 1), 0.0), (date(2026, 1, 2), 2.0), (date(2026, 1, 3), 1.0)]
    assert linear_trend(points, date(2026, 1, 4)) == pytest.approx(2.0)


def test_one_report_or_one_day_shows_no_trend() -> None:
    assert linear_trend([], DEADLINE) is None
    assert linear_trend([(TODAY, 5.0)], DEADLINE) is None
    assert linear_trend([(TODAY, 5.0), (TODAY, 9.0)], DEADLINE) is None


@pytest.mark.parametrize(
    ("value", "target", "direction", "met"),
    [
        (300, 300, "at_least", True),
        (299, 300, "reach", False),
        (80, 90, "at_most", True),
        (91, 90, "at_most", False),
        (-12, -10, "increase_by", True),  # a fall of at least 10
        (-8, -10, "increase_by", False),
        (15, 10, "increase_by", True),
    ],
)
def test_meeting_a_target_follows_its_direction(
    value: float, target: float, direction: str, met: bool
) -> None:
    assert meets_target(value, target=target, direction=direction) is met


def _projection(
    points: list[tuple[date, float]], deadline: date | None = DEADLINE
) -> Projection | None:
    return project_target(
        target=300, unit="个", direction="at_least", deadline=deadline, points=points, today=TODAY
    )


def test_a_slow_trend_is_projected_to_miss() -> None:
    slow = [(date(2026, 1, 1), 10.0), (date(2026, 4, 1), 40.0)]
    projection = _projection(slow)
    assert projection is not None and not projection.meets
    assert projection.deadline == DEADLINE and projection.value < 300
    assert "指标预计难以完成" in projection.reason and "目标不低于300个" in projection.reason


def test_a_fast_trend_is_projected_to_meet() -> None:
    fast = [(date(2026, 1, 1), 100.0), (date(2026, 4, 1), 200.0)]
    projection = _projection(fast)
    assert projection is not None and projection.meets


def test_no_projection_without_a_deadline_or_after_it() -> None:
    slow = [(date(2026, 1, 1), 10.0), (date(2026, 4, 1), 40.0)]
    assert _projection(slow, deadline=None) is None
    assert _projection(slow, deadline=date(2026, 5, 1)) is None


def test_a_projected_miss_turns_the_light_amber_before_the_due_date() -> None:
    miss = _projection([(date(2026, 1, 1), 10.0), (date(2026, 4, 1), 40.0)])
    far = NOW + timedelta(days=60)
    plain = status_light(due_at=far, now=NOW, state="acknowledged")
    assert plain.color == Light.GREEN
    light = status_light(due_at=far, now=NOW, state="acknowledged", miss=miss)
    assert miss is not None
    assert light.color == Light.AMBER and light.reason == miss.reason
    no_due = status_light(due_at=None, now=NOW, state="acknowledged", miss=miss)
    assert no_due.color == Light.AMBER


def test_overdue_stays_red_and_done_stays_green_whatever_the_projection() -> None:
    miss = _projection([(date(2026, 1, 1), 10.0), (date(2026, 4, 1), 40.0)])
    past = NOW - timedelta(days=3)
    assert status_light(due_at=past, now=NOW, state="acknowledged", miss=miss).color == Light.RED
    assert status_light(due_at=past, now=NOW, state="approved", miss=miss).color == Light.GREEN
    soon = NOW + timedelta(days=2)
    assert "天内到期" in status_light(due_at=soon, now=NOW, state="assigned", miss=miss).reason


def test_a_projection_that_meets_leaves_the_light_green() -> None:
    meets = _projection([(date(2026, 1, 1), 100.0), (date(2026, 4, 1), 200.0)])
    far = NOW + timedelta(days=60)
    assert status_light(due_at=far, now=NOW, state="assigned", miss=meets).color == Light.GREEN


def test_numbers_read_as_people_write_them() -> None:
    assert number_text(300.0) == "300"
    assert number_text(1.3) == "1.3"
    assert number_text(2 / 3) == "0.67"
