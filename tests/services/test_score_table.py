"""The score table gives what the full computation gives: the same rows (score, rank, breakdown,
periods) and, page by page, the same ledger lines with the same event ids, on both databases.

A seeded random province is recorded through the real read-model activity (so every step is an
audit event on the chain), compared, then more is recorded (approvals, escalations, a new head)
and compared again: the watermark catches up with only what changed.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from activities.read_model import ReadModelActivities
from duban.errors import Invalid, Unavailable
from duban.models import Assignment, Department, PeriodScore, ScoreWatermark, User
from duban.scoring import ScoreLine, ScoreRow, compile_scores
from duban.services import score_table
from duban.services.assessment import load_outcomes
from duban.services.audit import chain_head
from duban.services.head_term import sync_head_term
from duban.services.paging import encode_cursor
from policies.rubric import Rubric, load_rubric
from tests.services.test_assessment import DAY, Recorder, new_assignment
from tests.workspace import make_policy, make_user

NOW = datetime(2026, 12, 20, tzinfo=UTC)  # after every recorded step
DUES = [datetime(2026, 8, 20, 1, tzinfo=UTC), datetime(2026, 11, 10, 9, tzinfo=UTC)]
LATER = datetime(2027, 1, 15, 9, tzinfo=UTC)  # a period still open and not yet due at NOW
PERIODS = ("2026Q3", "2026Q4", "2026", "2025", "2027Q1")


@pytest.fixture
def recorder(session: Session) -> Recorder:
    """A recorder whose activity writes inside the test's SAVEPOINT-wrapped connection."""
    factory = sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return Recorder(ReadModelActivities(factory))


def _full(session: Session, rubric: Rubric, period: str, by: str) -> list[ScoreRow]:
    """The current full computation: every event read and scored."""
    outcomes = load_outcomes(session=session, as_of=NOW, period=period)
    return compile_scores(outcomes, rubric, as_of=NOW, by=by, period=period)  # type: ignore[arg-type]


def _head(row: ScoreRow) -> tuple[object, ...]:
    """What the ranking shows of a row (everything but its lines)."""
    return (row.by, row.key, row.name, row.score, row.rank, row.breakdown, row.periods)


def _ledger_lines(
    session: Session, rubric: Rubric, dept: Department, period: str
) -> list[ScoreLine]:
    """Every line of a department's ledger, window by window (2 scored periods at a time)."""
    lines: list[ScoreLine] = []
    cursor: str | None = None
    for _ in range(1000):
        page = score_table.ledger(
            session=session,
            rubric=rubric,
            department=dept,
            period=period,
            now=NOW,
            cursor=cursor,
            limit=2,
        )
        lines += page.lines
        for line in page.lines:  # every cited event is loaded for the page
            assert set(line.event_ids) <= set(page.events)
        if page.next is None:
            return lines
        cursor = page.next
    raise AssertionError("the ledger never ended")


def _assert_same(session: Session, rubric: Rubric) -> None:
    """The fast path equals the full computation for every period and grouping."""
    depts = {d.code: d for d in session.scalars(select(Department))}
    for period in PERIODS:
        for by in ("department", "official"):
            full = _full(session, rubric, period, by)
            fast = score_table.ranking(
                session=session,
                rubric=rubric,
                period=period,
                by=by,
                now=NOW,
            )
            assert [_head(r) for r in fast] == [_head(r) for r in full], (period, by)
        for row in _full(session, rubric, period, "department"):
            assert _ledger_lines(session, rubric, depts[row.key], period) == list(row.lines)


def _play(rec: Recorder, a: Assignment, rng: random.Random, idx: int) -> None:
    """Record a random history of one period: escalations, returns, extension, approval."""
    due = DUES[idx]
    rec.step(a, idx, "period_opened", due - 80 * DAY, "open")
    for level in range(1, rng.choice([0, 0, 1, 2, 3]) + 1):
        rec.escalate(a, idx, level, due + level * DAY)
    if rng.random() < 0.2:
        rec.extend(a, idx, due - 2 * DAY, due + rng.randint(3, 20) * DAY)
    fate = rng.random()
    if fate < 0.25:
        return  # still open: late by NOW (or not yet due)
    late = timedelta(hours=rng.randint(-200, 400))
    for n in range(rng.choice([0, 0, 1, 2])):
        rec.submit(a, idx, due + late - DAY, f"{a.id}-{idx}-r{n}")
        rec.review(a, idx, due + late - DAY, f"{a.id}-{idx}-r{n}", None)
    rec.submit(a, idx, due + late, f"{a.id}-{idx}-s")
    if fate < 0.35:
        return  # submitted, not yet reviewed
    rating = rng.randint(1, 5)
    rec.review(a, idx, due + late, f"{a.id}-{idx}-s", rating)
    rec.close(a, idx, due + late, rating, late <= timedelta(0))


@pytest.mark.parametrize("seed", [7, 2026])
def test_score_table_equals_the_full_computation(session: Session, recorder: Recorder, seed: int):
    rng = random.Random(seed)
    rubric = load_rubric()
    policy = make_policy(session)
    assignments: list[Assignment] = []
    for d in range(8):
        lead = new_assignment(session, policy, f"s{seed}d{d}", role="lead" if d % 3 else "co")
        assignments.append(lead)
    later: list[Assignment] = []
    for a in assignments:
        recorder.periods(a, [*DUES, LATER])
        _play(recorder, a, rng, 0)
        if rng.random() < 0.6:
            _play(recorder, a, rng, 1)
        else:
            later.append(a)
    session.expire_all()
    _assert_same(session, rubric)
    seq = session.get(ScoreWatermark, 1)
    assert seq is not None and seq.seq == chain_head(session=session).seq

    # More is recorded: only the touched assignments are rebuilt, and the result still agrees.
    touched = later[:3]
    assert touched
    for a in touched:
        _play(recorder, a, rng, 1)
    session.expire_all()
    assert score_table.refresh(session=session, now=NOW) == len(touched)
    _assert_same(session, rubric)

    # A new head of one department: the officials follow; only that unit's rows are rebuilt.
    dept = session.get(Department, assignments[0].department_id)
    assert dept is not None
    old = session.scalar(select(User).where(User.username == f"head-s{seed}d0"))
    assert old is not None
    old.is_active = False
    sync_head_term(session=session, user=old, at=DUES[1] - 30 * DAY)
    make_user(session, "head", dept, username=f"new-head-{seed}", display_name="新厅长")
    session.flush()
    session.expire_all()
    assert score_table.refresh(session=session, now=NOW) == 1
    _assert_same(session, rubric)

    # A head's new name is who the official is too: again that unit alone.
    renamed = session.scalar(select(User).where(User.username == f"head-s{seed}d1"))
    assert renamed is not None
    renamed.display_name = "改名厅长"
    session.flush()
    session.expire_all()
    assert score_table.refresh(session=session, now=NOW) == 1
    _assert_same(session, rubric)


def test_a_page_does_not_wait_for_a_large_rebuild(session: Session, recorder: Recorder):
    policy = make_policy(session)
    made = [new_assignment(session, policy, f"big{d}") for d in range(3)]
    for a in made:
        recorder.periods(a, DUES)
    session.expire_all()
    # A page finds three assignments waiting where it may rebuild two: 503, nothing moved.
    with pytest.raises(Unavailable, match="评分表正在更新"):
        score_table.refresh(session=session, now=NOW, most=2)
    mark = session.get(ScoreWatermark, 1)
    assert mark is None or mark.seq == 0
    assert session.scalars(select(PeriodScore)).all() == []
    # The job has no bound; a page then finds nothing to do.
    assert score_table.refresh(session=session, now=NOW) == 3
    assert score_table.refresh(session=session, now=NOW, most=0) == 0


def test_an_old_fingerprint_rebuilds_every_row_once(session: Session, recorder: Recorder):
    policy = make_policy(session)
    for d in range(2):
        recorder.periods(new_assignment(session, policy, f"old{d}"), DUES)
    session.expire_all()
    assert score_table.refresh(session=session, now=NOW) == 2
    mark = session.get_one(ScoreWatermark, 1)
    mark.terms = "ab" * 32  # one hash of every term, as the table's first version kept
    session.flush()
    assert score_table.refresh(session=session, now=NOW) == 2
    assert score_table.refresh(session=session, now=NOW) == 0


def test_a_bad_ledger_cursor_is_invalid(session: Session, recorder: Recorder):
    policy = make_policy(session)
    a = new_assignment(session, policy, "cur")
    recorder.periods(a, DUES)
    dept = session.get(Department, a.department_id)
    assert dept is not None
    rubric = load_rubric()
    for bad in ("WyJ4Il0", encode_cursor((2**40, 0)), encode_cursor((1,)), "!!"):
        with pytest.raises(Invalid):
            score_table.ledger(
                session=session, rubric=rubric, department=dept, period="2026", now=NOW, cursor=bad
            )
    ledger = score_table.ledger(
        session=session, rubric=rubric, department=dept, period="2026", now=NOW
    )
    assert ledger.next is None
    stored = session.scalars(select(PeriodScore).where(PeriodScore.assignment_id == a.id)).all()
    assert [p.period_index for p in stored] == [0, 1]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_page_answers_503_while_another_refresh_holds_the_lock(engine: Engine):
    # The job holds the watermark row (a rebuild in progress); a page waits LOCK_WAIT, not longer.
    with Session(engine) as setup, setup.begin():
        score_table.refresh(session=setup, now=NOW)
        new_assignment(setup, make_policy(setup), "lock")  # a new unit with its head
    with Session(engine) as job, job.begin():
        job.execute(select(ScoreWatermark).where(ScoreWatermark.id == 1).with_for_update())
        with Session(engine) as page, page.begin():
            started = time.monotonic()
            with pytest.raises(Unavailable):
                score_table.catch_up(session=page, now=NOW)
            waited = time.monotonic() - started
    assert score_table.LOCK_WAIT - 0.5 <= waited < score_table.LOCK_WAIT + 5
