"""Leader cockpit figures over the read model, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from duban.models import AssignmentPeriod
from duban.services.cockpit import (
    Snapshots,
    cockpit,
    cockpit_of,
    take_snapshot,
    task_titles,
)
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


def seed_spread(session):
    """A small province: three departments, two tasks, periods closed on time and late, open,
    awaiting review, extended (the assignment's due date moved past its period's) and historic."""
    policy = make_policy(
        session, items=[{"number": 5, "title": "保持稳定"}, {"number": 6, "title": "动态监测"}]
    )
    depts = [make_department(session, f"d{i}", f"单位{i}") for i in range(3)]
    made = []
    for i, dept in enumerate(depts):
        for number in (5, 6):
            due = Q3 + timedelta(days=17 * i + 5 * number, hours=i)
            state = "submitted" if (i + number) % 3 == 0 else "assigned"
            a = make_assignment(
                session,
                policy=policy,
                department=dept,
                item_number=number,
                due_at=due,
                periods=4,
                state=state,
            )
            made.append(a)
    close(session, made[0], 0, on_time=True)
    close(session, made[1], 0, on_time=False)
    close(session, made[2], 0, on_time=True)
    close(session, made[2], 1, on_time=True)
    made[3].due_at = Q3 + timedelta(days=70)  # extended: its current period was due Q3 + 47 d
    session.get_one(AssignmentPeriod, made[4].periods[0].id).historic = True
    session.flush()
    return policy, made


def as_numbers(c):
    def rows(rs):
        return [(r.key, r.name, r.periods, r.due, r.completed, r.on_time, r.overdue) for r in rs]

    return (rows([c.overall]), rows(c.by_department), rows(c.by_task), rows(c.trend))


def test_snapshot_figures_equal_the_full_count_at_any_later_time(session):
    seed_spread(session)
    titles = task_titles(session=session)
    taken = Q3 - timedelta(days=1)
    snapshot = take_snapshot(session=session, now=taken)
    # Before every due date, on one, between them, after all: the split follows `now`.
    instants = [taken, Q3 + timedelta(days=25), Q3 + timedelta(days=25, hours=1), NOW]
    instants += [NOW + timedelta(days=91 * k) for k in range(1, 5)]
    moments = set(instants)
    for p in session.scalars(select(AssignmentPeriod)):
        moments |= {p.due_at, p.due_at - timedelta(seconds=1)}
    overdue_seen = set()
    for now in sorted(moments):
        full = cockpit(session=session, now=now, titles=titles)
        kept = cockpit_of(snapshot, now=now)
        assert as_numbers(kept) == as_numbers(full), now
        assert kept.as_of == taken and full.as_of == now
        overdue_seen.add(full.overall.overdue)
    assert len(overdue_seen) > 3  # the instants did move figures


def test_figures_are_worked_out_once_between_two_due_dates(session):
    seed_spread(session)
    snapshot = take_snapshot(session=session, now=Q3 - timedelta(days=1))
    due = min(d for d in snapshot.boundaries if d > Q3)
    before = cockpit_of(snapshot, now=due - timedelta(hours=2))
    assert cockpit_of(snapshot, now=due - timedelta(seconds=1)) is before  # same stretch
    at_due = cockpit_of(snapshot, now=due)
    assert at_due is not before  # a due date passed: worked out again
    assert as_numbers(at_due) == as_numbers(
        cockpit(session=session, now=due, titles=task_titles(session=session))
    )
    # The names are the snapshot's: a task renamed since keeps its name until the next one.
    assert snapshot.names.titles == task_titles(session=session)


def test_snapshots_keep_figures_for_the_ttl_then_count_afresh(session):
    _, made = seed_spread(session)
    snapshots = Snapshots(ttl=timedelta(seconds=30))
    first = snapshots.get(session=session, now=NOW)
    before = cockpit_of(first, now=NOW).overall
    close(session, made[5], 1, on_time=True)  # a write after the snapshot
    later = NOW + timedelta(seconds=29)
    assert snapshots.get(session=session, now=later) is first  # within the TTL: kept
    assert cockpit_of(first, now=later).overall.completed == before.completed
    after_ttl = NOW + timedelta(seconds=30)
    fresh = snapshots.get(session=session, now=after_ttl)
    assert fresh is not first and fresh.taken_at == after_ttl
    figures = cockpit_of(fresh, now=after_ttl)
    assert figures.overall.completed == before.completed + 1
    assert as_numbers(figures) == as_numbers(
        cockpit(session=session, now=after_ttl, titles=task_titles(session=session))
    )
    assert snapshots.get(session=session, now=NOW) is not fresh  # a clock set back: recount


def test_a_stale_snapshot_answers_while_a_thread_takes_the_next(engine):
    # Past the TTL (within `stale`), with a session factory: the held snapshot answers at once
    # and one thread counts anew; once it is in, readers get it. Past `stale`: counted inline.
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory.begin() as s:
        _, made = seed_spread(s)
    snapshots = Snapshots(ttl=timedelta(seconds=30), stale=timedelta(minutes=5))
    with factory() as s:
        first = snapshots.get(session=s, now=NOW, factory=factory)
    with factory.begin() as s:
        close(s, made[5], 1, on_time=True)
    later = NOW + timedelta(seconds=31)
    with factory() as s:
        assert snapshots.get(session=s, now=later, factory=factory) is first
        assert snapshots.get(session=s, now=later, factory=factory) is first  # one thread only
        snapshots.wait()
        fresh = snapshots.get(session=s, now=later, factory=factory)
        assert fresh is not first and fresh.taken_at == later
        full = cockpit(session=s, now=later, titles=task_titles(session=s))
        assert as_numbers(cockpit_of(fresh, now=later)) == as_numbers(full)
        much_later = later + timedelta(minutes=6)
        inline = snapshots.get(session=s, now=much_later, factory=factory)
        assert inline.taken_at == much_later


def test_a_snapshot_that_fails_in_the_background_leaves_the_held_one(engine, caplog):
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    snapshots = Snapshots()
    with factory() as s:
        first = snapshots.get(session=s, now=NOW)

        def broken() -> Session:
            raise OperationalError("SELECT 1", {}, Exception("the database is down"))

        later = NOW + timedelta(seconds=40)
        assert snapshots.get(session=s, now=later, factory=broken) is first
        snapshots.wait()
        assert snapshots.get(session=s, now=later, factory=broken) is first
        snapshots.wait()
    assert "cockpit snapshot not taken" in caplog.text


def test_snapshots_are_bounded(session):
    snapshots = Snapshots(slots=1)
    snapshots.get(session=session, now=NOW)
    snapshots.get(session=session, now=NOW)
    assert len(snapshots._entries) == 1
    snapshots.clear()
    assert not snapshots._entries
