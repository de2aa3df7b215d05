"""The traffic light in SQL (duban/services/light.py) agrees with `status_light` on every state and
every distance from the due time, with and without a projected target miss; on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from duban.domain import AssignmentState
from duban.models import Assignment
from duban.rules import AMBER_WINDOW, LIGHT_RANK, Projection, status_light
from duban.services.light import done_flag, light_rank
from tests.workspace import make_assignment, make_department, make_policy

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
# Every boundary the rule draws: long past, just past, exactly now, just ahead, the end of the
# amber window and one second after it, far ahead, and no due time at all.
OFFSETS: list[timedelta | None] = [
    -timedelta(days=30),
    -SECOND,
    timedelta(0),
    SECOND,
    timedelta(days=3),
    AMBER_WINDOW,
    AMBER_WINDOW + SECOND,
    timedelta(days=90),
    None,
]
MISS = Projection(1.0, 2.0, "个", "at_least", date(2027, 6, 30), meets=False)


def test_sql_light_agrees_with_status_light(session):
    policy = make_policy(session, items=[{"number": 1, "title": "任务"}])
    cases: dict[int, tuple[str, timedelta | None, bool]] = {}
    n = 0
    for each in AssignmentState:
        state = str(each)
        for offset in OFFSETS:
            for missed in (False, True):
                n += 1
                dept = make_department(session, f"lt{n:03d}", f"灯测单位{n:03d}")
                a = make_assignment(session, policy=policy, department=dept, state=state, periods=0)
                a.due_at = None if offset is None else NOW + offset
                cases[a.id] = (state, offset, missed)
    session.flush()
    missed_ids = {aid for aid, (_, _, m) in cases.items() if m}
    stmt = select(Assignment.id, light_rank(now=NOW, missed=missed_ids), done_flag())
    found = {aid: (rank, done) for aid, rank, done in session.execute(stmt) if aid in cases}
    assert found.keys() == cases.keys()
    for aid, (state, offset, missed) in cases.items():
        due = None if offset is None else NOW + offset
        light = status_light(due_at=due, now=NOW, state=state, miss=MISS if missed else None)
        expected_done = int(state in (AssignmentState.COMPLETED, AssignmentState.APPROVED))
        assert found[aid] == (LIGHT_RANK[light.color], expected_done), (state, offset, missed)
