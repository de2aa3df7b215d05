"""load_outcomes and scores from rows written by the real read-model activity, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from activities.read_model import ReadModelActivities
from duban.errors import Invalid
from duban.messages import (
    BeginInput,
    EscalationRecord,
    ExtensionDecisionRecord,
    ExtensionRecord,
    PeriodPatch,
    PeriodSpec,
    RecordInput,
    ReviewRecord,
    Snapshot,
    SubmissionRecord,
)
from duban.models import Assignment, AuditEvent
from duban.scoring import score_period
from duban.services.assessment import (
    check_period,
    current_quarter,
    department_ledger,
    load_outcomes,
    scores,
)
from policies.rubric import load_rubric
from tests.workspace import make_department, make_policy, make_user
from workflows.assignment_rules import scoped_key

DUE = datetime(2026, 11, 10, 9, tzinfo=UTC)  # 2026Q4
AS_OF = datetime(2026, 12, 1, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class Recorder:
    """Writes workflow steps through ReadModelActivities, as the AssignmentWorkflow does."""

    acts: ReadModelActivities

    def periods(self, a: Assignment, dues: list[datetime]) -> None:
        """Store the planned periods of an assignment."""
        rows = [PeriodSpec(i, due, f"第{i + 1}期") for i, due in enumerate(dues)]
        self.acts.begin(BeginInput(a.id, rows))

    def step(
        self, a: Assignment, idx: int, kind: str, at: datetime, step: str = "s", **parts: Any
    ) -> None:
        """Record one step of period `idx`."""
        snap = Snapshot("in_progress", idx, DUE, DUE, 0)
        key = scoped_key(a.workflow_id, f"p{idx}", kind, step)
        assert self.acts.record(RecordInput(key, a.id, kind, at, snap, **parts))

    def submit(self, a: Assignment, idx: int, at: datetime, key: str) -> None:
        """Record a submission."""
        rec = SubmissionRecord(key, "已按要求完成", [], at > DUE)
        self.step(a, idx, "submitted", at, key, submission=rec)

    def review(self, a: Assignment, idx: int, at: datetime, sub: str, rating: int | None) -> None:
        """Record an approval (with a rating) or, with rating None, a return."""
        decision = "approve" if rating else "return"
        rec = ReviewRecord(sub, decision, rating, "审核意见")
        data = {"decision": decision, "rating": rating, "comment": "审核意见"}
        self.step(a, idx, "reviewed", at, "r" + sub, review=rec, data=data)

    def close(self, a: Assignment, idx: int, at: datetime, rating: int, on_time: bool) -> None:
        """Record the period's closing."""
        patch = PeriodPatch(idx, state="approved", closed_at=at, on_time=on_time, rating=rating)
        self.step(a, idx, "period_closed", at, "close", period=patch, data={"on_time": on_time})

    def escalate(self, a: Assignment, idx: int, level: int, at: datetime) -> None:
        """Record a rung of the ladder."""
        rec = EscalationRecord(level=level)
        self.step(a, idx, f"escalation_l{level}", at, "ladder", escalation=rec)

    def extend(self, a: Assignment, idx: int, at: datetime, due: datetime) -> None:
        """Record a granted extension request."""
        self.step(
            a, idx, "extension_requested", at, "x1", extension=ExtensionRecord("x1", due, "疫情")
        )
        decision = ExtensionDecisionRecord("x1", True, due, "同意")
        data = {"grant": True, "due_at": due.isoformat()}
        self.step(a, idx, "extension_decided", at, "d1", decision=decision, data=data)
        self.step(a, idx, "due_moved", at, "d1", period=PeriodPatch(idx, due_at=due))


@dataclass
class World:
    """Two departments of one policy: A closes on time with 5 stars, B late after escalations."""

    session: Session
    rec: Recorder
    a: Assignment
    b: Assignment
    head_a: str


@pytest.fixture
def recorder(session: Session) -> Recorder:
    """A recorder whose activity writes inside the test's SAVEPOINT-wrapped connection."""
    factory = sessionmaker(
        bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return Recorder(ReadModelActivities(factory))


def new_assignment(session: Session, policy: Any, code: str, role: str = "lead") -> Assignment:
    """Add an assignment (no periods yet) of a new department with an active head."""
    dept = make_department(session, code=code, name=f"省{code}厅")
    make_user(session, "head", dept, username=f"head-{code}", display_name=f"{code}厅长")
    wid = f"assignment:{policy.key}:5:{code}"
    a = Assignment(
        policy_id=policy.id, item_number=5, department_id=dept.id, role=role, workflow_id=wid
    )
    session.add(a)
    session.flush()
    return a


def play_b(rec: Recorder, b: Assignment) -> None:
    """B: escalated twice, returned once, approved with 3 stars 13 days late."""
    rec.step(b, 0, "period_opened", DUE - 80 * DAY, "open")
    rec.escalate(b, 0, 1, DUE + DAY)
    rec.escalate(b, 0, 2, DUE + 7 * DAY)
    rec.submit(b, 0, DUE + 10 * DAY, "b-s1")
    rec.review(b, 0, DUE + 11 * DAY, "b-s1", None)
    rec.submit(b, 0, DUE + 12 * DAY, "b-s2")
    rec.review(b, 0, DUE + 12 * DAY + timedelta(hours=3), "b-s2", 3)
    rec.close(b, 0, DUE + 12 * DAY + timedelta(hours=3), 3, False)


@pytest.fixture
def world(session: Session, recorder: Recorder) -> Iterator[World]:
    """Record both departments' first period through the activity."""
    policy = make_policy(session)
    a = new_assignment(session, policy, "dA")
    b = new_assignment(session, policy, "dB")
    for x in (a, b):
        recorder.periods(x, [DUE, DUE + 91 * DAY])
    recorder.step(a, 0, "period_opened", DUE - 80 * DAY, "open")
    recorder.submit(a, 0, DUE - 5 * DAY, "a-s1")
    recorder.review(a, 0, DUE - 4 * DAY, "a-s1", 5)
    recorder.close(a, 0, DUE - 4 * DAY, 5, True)
    play_b(recorder, b)
    session.expire_all()
    yield World(session, recorder, a, b, "head-dA")


def test_outcomes_come_from_the_recorded_rows(world: World):
    by_id = {
        (o.assignment_id, o.period_index): o
        for o in load_outcomes(session=world.session, as_of=AS_OF)
    }
    a, b = by_id[(world.a.id, 0)], by_id[(world.b.id, 0)]
    assert (a.approved, a.rating, a.escalation_levels, a.returns) == (True, 5, (), 0)
    assert (b.approved, b.rating, b.escalation_levels, b.returns) == (True, 3, (1, 2), 1)
    assert a.official == world.head_a and a.official_name == "dA厅长"
    assert b.closed_at == DUE + 12 * DAY + timedelta(hours=3)
    events = world.session.execute(
        select(AuditEvent.id, AuditEvent.kind).where(AuditEvent.assignment_id == world.b.id)
    ).all()
    assert set(b.event_ids) == {i for i, _ in events}
    assert b.events_by_rule is not None
    ladder = {i for i, kind in events if kind.startswith("escalation_l")}
    assert set(b.events_by_rule["escalation"]) == ladder and len(ladder) == 2
    kinds = dict(events)
    for level in (1, 2):  # each rung's line cites its own event only
        [cited] = b.events_by_rule[f"escalation:{level}"]
        assert kinds[cited] == f"escalation_l{level}"
    lines = [ln for ln in score_period(b, load_rubric(), as_of=AS_OF) if ln.rule == "escalation"]
    assert [kinds[i] for ln in lines for i in ln.event_ids] == ["escalation_l1", "escalation_l2"]
    # the second period is planned, not yet due: no events, nothing scored
    assert by_id[(world.a.id, 1)].event_ids == ()


def test_on_time_department_outranks_the_escalated_one(world: World):
    rows = scores(
        session=world.session, rubric=load_rubric(), period="2026Q4", by="department", as_of=AS_OF
    )
    assert [(r.key, r.score, r.rank) for r in rows] == [("dA", 12.0, 1), ("dB", 1.5, 2)]
    body = rows[1].to_json()
    assert body["department"] == {"code": "dB", "name": "省dB厅"}
    assert {b["rule"]: b["points"] for b in body["breakdown"]} == {
        "completion": 10.0,
        "rating": 0.0,
        "lateness": -5.0,
        "escalation": -3.0,
        "return": -0.5,
    }
    officials = scores(
        session=world.session, rubric=load_rubric(), period="2026Q4", by="official", as_of=AS_OF
    )
    assert [r.key for r in officials] == ["head-dA", "head-dB"]


def test_as_of_ignores_later_events(world: World):
    early = DUE + 3 * DAY
    b = next(
        o
        for o in load_outcomes(session=world.session, as_of=early)
        if o.assignment_id == world.b.id and o.period_index == 0
    )
    assert (b.approved, b.closed_at, b.escalation_levels, b.returns) == (False, None, (1,), 0)
    rows = scores(
        session=world.session, rubric=load_rubric(), period="2026Q4", by="department", as_of=early
    )
    # 3 days late so far (-1.5) and the first rung (-1)
    assert {r.key: r.score for r in rows}["dB"] == -2.5


def test_granted_extension_moves_the_due_date_and_costs(world: World, session: Session):
    policy = make_policy(session)
    c = new_assignment(session, policy, "dC", role="co")
    world.rec.periods(c, [DUE])
    world.rec.extend(c, 0, DUE - 2 * DAY, DUE + 10 * DAY)
    world.rec.submit(c, 0, DUE + 9 * DAY, "c-s1")
    world.rec.review(c, 0, DUE + 9 * DAY, "c-s1", 4)
    world.rec.close(c, 0, DUE + 9 * DAY, 4, True)
    session.expire_all()
    [out] = load_outcomes(session=session, as_of=AS_OF, department_id=c.department_id)
    assert (out.extensions_granted, out.due_at, out.original_due_at) == (1, DUE + 10 * DAY, DUE)
    row = department_ledger(
        session=session, rubric=load_rubric(), department=c.department, period="2026Q4", as_of=AS_OF
    ).row
    assert row is not None
    # co weight 0.6: (10 + 1 - 1) * 0.6
    assert row.score == 6.0
    assert all("配合" in line.reason for line in row.lines)


def test_open_period_of_a_removed_task_is_not_scored(world: World, session: Session):
    policy = make_policy(session)
    d = new_assignment(session, policy, "dD")
    world.rec.periods(d, [DUE])
    d.removed_in_version = 2
    session.flush()
    assert load_outcomes(session=session, as_of=AS_OF, department_id=d.department_id) == []


def test_ledger_cites_the_events_of_each_line(world: World):
    ledger = department_ledger(
        session=world.session,
        rubric=load_rubric(),
        department=world.b.department,
        period="2026Q4",
        as_of=AS_OF,
    )
    assert ledger.row is not None and ledger.rank_of == 2
    ladder = [line for line in ledger.row.lines if line.rule == "escalation"]
    assert [line.reason for line in ladder] == [
        "督办升级至第1级（部门负责人）",
        "督办升级至第2级（督查室）",
    ]
    kinds = {ledger.events[i].kind for line in ladder for i in line.event_ids}
    assert kinds == {"escalation_l1", "escalation_l2"}
    assert ledger.task_numbers[world.b.id] == 5


def test_period_labels():
    assert check_period("2026Q4") == "2026Q4" and check_period("2026") == "2026"
    with pytest.raises(Invalid):
        check_period("2026Q5")
    assert (
        current_quarter(datetime(2026, 12, 31, 17, tzinfo=UTC)) == "2027Q1"
    )  # Beijing is past midnight


def test_events_are_counted_once(world: World):
    before = world.session.scalar(select(func.count()).select_from(AuditEvent))
    scores(session=world.session, rubric=load_rubric(), period="2026", by="department", as_of=AS_OF)
    assert world.session.scalar(select(func.count()).select_from(AuditEvent)) == before
