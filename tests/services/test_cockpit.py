"""Leader cockpit figures over the read model, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from duban.models import AssignmentPeriod
from duban.services.cockpit import cockpit, task_titles
from tests.workspace import make_assignment, make_department, make_policy

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
Q3 = datetime(2026, 8, 15, 4, 0, tzinfo=UTC)


def close(session, assignment, index, *, on_time):
    period = session.scalars(
        select(AssignmentPeriod).where(
            AssignmentPeriod.assignment_id == assignment.id, AssignmentPeriod.index == index
        )
    ).one()
    period.state, period.closed_at, period.on_time = "approved", Q3, on_time
    session.flush()


def test_rates_by_department_task_and_quarter(session):
    policy = make_policy(
        session, items=[{"number": 5, "title": "保持稳定"}, {"number": 6, "title": "动态监测"}]
    )
    fpb, czt = (
        make_department(session, "fpb", "省扶贫办"),
        make_department(session, "czt", "省财政厅"),
    )
    # Periods due 2026-08-15 (Q3) and +91 days = 2026-11-14 (Q4); both past NOW.
    a = make_assignment(session, policy=policy, department=fpb, due_at=Q3)
    b = make_assignment(session, policy=policy, department=czt, due_at=Q3)
    c = make_assignment(
        session, policy=policy, department=czt, item_number=6, due_at=NOW + timedelta(days=40)
    )
    close(session, a, 0, on_time=True)
    close(session, b, 0, on_time=False)
    hist = make_assignment(
        session, policy=policy, department=fpb, item_number=6, due_at=Q3, periods=1
    )
    session.get_one(AssignmentPeriod, hist.periods[0].id).historic = True
    session.flush()

    figures = cockpit(session=session, now=NOW, titles=task_titles(session=session))
    o = figures.overall
    assert (o.periods, o.due, o.completed, o.on_time, o.overdue) == (6, 4, 2, 1, 2)
    assert (o.completion_rate, o.on_time_rate, o.overdue_rate) == (0.5, 0.25, 0.5)
    depts = {r.key: r for r in figures.by_department}
    assert (depts["fpb"].due, depts["fpb"].completed, depts["fpb"].on_time) == (2, 1, 1)
    assert (depts["czt"].due, depts["czt"].overdue) == (2, 1)
    tasks = {r.key: r for r in figures.by_task}
    assert tasks[f"{policy.key}#5"].name == "（5）保持稳定"
    assert tasks[f"{policy.key}#6"].due == 0  # c not yet due; the historic period is left out
    trend = {r.key: r for r in figures.trend}
    assert sorted(trend) == ["2026Q3", "2026Q4"]  # c's 2027 periods are in the future
    assert (trend["2026Q3"].due, trend["2026Q3"].completed, trend["2026Q3"].on_time) == (2, 2, 1)
    assert (trend["2026Q4"].due, trend["2026Q4"].overdue) == (2, 2)
    assert figures.by_department[0].overdue_rate >= figures.by_department[-1].overdue_rate
    assert o.to_json()["completion_rate"] == 0.5
    _ = c


def test_empty_read_model_has_zero_rates(session):
    figures = cockpit(session=session, now=NOW)
    assert figures.overall.periods == 0 and figures.overall.completion_rate == 0.0
    assert figures.by_department == [] and figures.trend == []
