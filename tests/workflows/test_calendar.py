"""Calendars on the time-skipping server: a quarter, reminders, the ladder, extensions, continue-as-new."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from duban.models import (
    Assignment,
    AssignmentPeriod,
    AuditEvent,
    Escalation,
    Extension,
    Notification,
    Submission,
    User,
)
from tests.workflows.conftest import assert_eventually, duban_worker
from tests.workflows.seed import DAY, assignment_input, quarterly, seed
from workflows.assignment import (
    ActionInput,
    AssignmentRevision,
    AssignmentWorkflow,
    ExtensionDecisionInput,
    ExtensionRequestInput,
    PeriodSpec,
    ReviewInput,
    SubmitInput,
)

HOUR = timedelta(hours=1)


def _kinds(factory, assignment_id):
    with factory() as s:
        return [
            e.kind
            for e in s.scalars(
                select(AuditEvent)
                .where(AuditEvent.assignment_id == assignment_id)
                .order_by(AuditEvent.id)
            )
        ]


def _notified(factory, kind):
    with factory() as s:
        rows = s.execute(
            select(User.role, Notification.kind)
            .join(User, User.id == Notification.user_id)
            .where(Notification.kind == kind)
        ).all()
        return sorted(role for role, _ in rows)


async def _start(env, factory, periods, **kw):
    seeded = seed(factory)
    inp = assignment_input(seeded, "fpb", periods, **kw)
    worker = duban_worker(env.client, factory)
    return seeded, inp, worker


async def test_reminders_fire_at_their_offsets_and_ladder_climbs_to_level_3(
    time_env, session_factory
):
    now = await time_env.get_current_time()
    seeded, inp, worker = await _start(time_env, session_factory, quarterly(now, count=1))
    aid = seeded.assignment_ids["fpb"]
    async with worker:
        handle = await _run(time_env, worker, seeded, inp)
        await time_env.sleep(90 * DAY - 7 * DAY - HOUR)
        assert "reminder" not in _kinds(session_factory, aid)
        await time_env.sleep(2 * HOUR)
        await assert_eventually(async_eq(lambda: _kinds(session_factory, aid).count("reminder"), 1))
        assert _notified(session_factory, "reminder") == ["head", "staff"]
        await time_env.sleep(6 * DAY)
        await assert_eventually(async_eq(lambda: _kinds(session_factory, aid).count("reminder"), 2))
        await time_env.sleep(DAY)
        assert (await handle.query(AssignmentWorkflow.state)).escalation_level == 0
        await time_env.sleep(DAY + 2 * HOUR)
        await assert_eventually(level_is(handle, 1))
        await assert_eventually(
            async_eq(lambda: _notified(session_factory, "escalation_l1"), ["head"])
        )
        await time_env.sleep(14 * DAY)
        await assert_eventually(level_is(handle, 3))
        await assert_eventually(
            async_eq(lambda: _notified(session_factory, "escalation_l3"), ["supervisor"])
        )
        assert _notified(session_factory, "escalation_l2") == ["supervisor"]
        with session_factory() as s:
            levels = s.scalars(
                select(Escalation.level).where(Escalation.assignment_id == aid)
            ).all()
        assert sorted(levels) == [1, 2, 3]
        await handle.terminate("test over")


def async_eq(get, expected):
    """Return an async check that `get()` equals `expected`."""

    async def check():
        assert get() == expected

    return check


def level_is(handle, level):
    """Return an async check that the workflow reports escalation `level`."""

    async def check():
        assert (await handle.query(AssignmentWorkflow.state)).escalation_level == level

    return check


async def _run(env, worker, seeded, inp):
    """Start the workflow; return a handle on its latest run (it continues-as-new)."""
    wf_id = seeded.workflow_id("fpb")
    await env.client.start_workflow(
        AssignmentWorkflow.run, inp, id=wf_id, task_queue=worker.task_queue
    )
    return env.client.get_workflow_handle_for(AssignmentWorkflow.run, wf_id)


async def test_quarter_passes_and_continue_as_new_keeps_everything(time_env, session_factory):
    now = await time_env.get_current_time()
    seeded, inp, worker = await _start(
        time_env, session_factory, quarterly(now, count=2, historic=1)
    )
    aid, sup, staff = (
        seeded.assignment_ids["fpb"],
        seeded.users["supervisor"],
        seeded.users["fpb-staff"],
    )
    async with worker:
        handle = await _run(time_env, worker, seeded, inp)
        first_run = (await handle.describe()).run_id
        await handle.execute_update(
            AssignmentWorkflow.acknowledge, ActionInput("ack-1", staff, "张三"), id="ack-1"
        )
        await time_env.sleep(80 * DAY)
        submit = SubmitInput("sub-1", staff, "张三", "已完成第一季度工作")
        first = await handle.execute_update(AssignmentWorkflow.submit, submit, id="sub-1")
        assert (first.state, first.period_index) == ("submitted", 1)
        approve = ReviewInput("rev-1", sup, "督查室", "approve", rating=4, comment="好")
        await handle.execute_update(AssignmentWorkflow.review, approve, id="rev-1")

        # Wait on the read model, not on queries: the test server can drop a query sent
        # while a run is continuing-as-new.
        await assert_eventually(async_eq(lambda: _mirror(session_factory, aid), (2, "in_progress")))
        assert (await handle.describe()).run_id != first_run
        state = await handle.query(AssignmentWorkflow.state)
        assert [(p.state, p.rating, p.on_time) for p in state.periods] == [
            ("historic", None, None),
            ("approved", 4, True),
            ("in_progress", None, None),
        ]
        assert state.acknowledged_at is not None
        # The same key after continue-as-new returns the first result and records nothing new.
        again = await handle.execute_update(AssignmentWorkflow.submit, submit, id="sub-1")
        assert again == first
        with session_factory() as s:
            periods = s.scalars(
                select(AssignmentPeriod)
                .where(AssignmentPeriod.assignment_id == aid)
                .order_by(AssignmentPeriod.index)
            ).all()
            subs = s.scalars(select(Submission).where(Submission.assignment_id == aid)).all()
        assert [(p.state, p.rating) for p in periods] == [
            ("historic", None),
            ("approved", 4),
            ("open", None),
        ]
        assert len(subs) == 1
        assert "period_closed" in _kinds(session_factory, aid)
        await handle.terminate("test over")


async def test_a_revision_adds_a_period_that_continue_as_new_then_runs(time_env, session_factory):
    now = await time_env.get_current_time()
    plan = quarterly(now, count=1)
    seeded, inp, worker = await _start(time_env, session_factory, plan)
    aid, sup, staff = (
        seeded.assignment_ids["fpb"],
        seeded.users["supervisor"],
        seeded.users["fpb-staff"],
    )
    later = PeriodSpec(1, now + 150 * DAY, "修订后新增期限", "deadline")
    async with worker:
        handle = await _run(time_env, worker, seeded, inp)
        await handle.signal(AssignmentWorkflow.revise, AssignmentRevision(2, [*plan, later]))
        await assert_eventually(async_eq(lambda: _kinds(session_factory, aid).count("revised"), 1))
        ack = ActionInput("ack-1", staff, "张三")
        await handle.execute_update(AssignmentWorkflow.acknowledge, ack, id="ack-1")
        submit = SubmitInput("sub-1", staff, "张三", "已完成第一期工作")
        await handle.execute_update(AssignmentWorkflow.submit, submit, id="sub-1")
        approve = ReviewInput("rev-1", sup, "督查室", "approve", rating=5)
        await handle.execute_update(AssignmentWorkflow.review, approve, id="rev-1")
        # Without the revision the assignment would complete here; it opens the new period.
        await assert_eventually(async_eq(lambda: _mirror(session_factory, aid), (1, "in_progress")))
        state = await handle.query(AssignmentWorkflow.state)
        assert (state.policy_version, state.due_at, state.completed) == (2, later.due_at, False)
        assert [p.state for p in state.periods] == ["approved", "in_progress"]
        with session_factory() as s:
            rows = s.scalars(
                select(AssignmentPeriod.label)
                .where(AssignmentPeriod.assignment_id == aid)
                .order_by(AssignmentPeriod.index)
            ).all()
        assert rows == ["第1期", "修订后新增期限"]
        await handle.terminate("test over")


async def test_historic_deadline_never_escalates(time_env, session_factory):
    now = await time_env.get_current_time()
    seeded, inp, worker = await _start(
        time_env, session_factory, quarterly(now, count=1, historic=2)
    )
    aid = seeded.assignment_ids["fpb"]
    async with worker:
        handle = await _run(time_env, worker, seeded, inp)
        await time_env.sleep(30 * DAY)
        state = await handle.query(AssignmentWorkflow.state)
        assert (state.period_index, state.escalation_level) == (2, 0)
        assert [p.state for p in state.periods[:2]] == ["historic", "historic"]
        with session_factory() as s:
            assert s.scalars(select(Escalation).where(Escalation.assignment_id == aid)).all() == []
        await handle.terminate("test over")


async def test_extension_moves_due_date_and_keeps_original(time_env, session_factory):
    now = await time_env.get_current_time()
    seeded, inp, worker = await _start(time_env, session_factory, quarterly(now, count=1))
    aid, sup, staff = (
        seeded.assignment_ids["fpb"],
        seeded.users["supervisor"],
        seeded.users["fpb-staff"],
    )
    original = inp.periods[0].due_at
    async with worker:
        handle = await _run(time_env, worker, seeded, inp)
        await time_env.sleep(80 * DAY)
        ask = ExtensionRequestInput("ext-1", staff, "张三", original + 30 * DAY, "资金尚未下达")
        await handle.execute_update(AssignmentWorkflow.request_extension, ask, id="ext-1")
        assert (await handle.query(AssignmentWorkflow.state)).pending_extensions == ["ext-1"]
        grant = ExtensionDecisionInput("dec-1", sup, "督查室", "ext-1", True, comment="同意")
        result = await handle.execute_update(AssignmentWorkflow.decide_extension, grant, id="dec-1")
        assert result.due_at == original + 30 * DAY
        await time_env.sleep(15 * DAY)
        state = await handle.query(AssignmentWorkflow.state)
        assert (state.due_at, state.original_due_at) == (original + 30 * DAY, original)
        assert (state.escalation_level, state.pending_extensions) == (0, [])
        with session_factory() as s:
            period = s.scalars(
                select(AssignmentPeriod).where(AssignmentPeriod.assignment_id == aid)
            ).one()
            ext = s.scalars(select(Extension).where(Extension.key == "ext-1")).one()
        assert (period.due_at, period.original_due_at) == (original + 30 * DAY, original)
        assert (ext.state, ext.granted_due_at) == ("granted", original + 30 * DAY)
        await time_env.sleep(20 * DAY)
        assert (await handle.query(AssignmentWorkflow.state)).escalation_level == 0
        await time_env.sleep(7 * DAY)
        await assert_eventually(level_is(handle, 1))
        await handle.terminate("test over")


async def test_late_submission_stops_ladder_and_return_restarts_it(time_env, session_factory):
    now = await time_env.get_current_time()
    seeded, inp, worker = await _start(time_env, session_factory, quarterly(now, count=1))
    aid, sup, staff = (
        seeded.assignment_ids["fpb"],
        seeded.users["supervisor"],
        seeded.users["fpb-staff"],
    )
    async with worker:
        handle = await _run(time_env, worker, seeded, inp)
        await time_env.sleep(92 * DAY)
        await assert_eventually(level_is(handle, 1))
        ack = ActionInput("ack-1", staff, "张三")
        await handle.execute_update(AssignmentWorkflow.acknowledge, ack, id="ack-1")
        late = SubmitInput("sub-late", staff, "张三", "迟交的报告")
        await handle.execute_update(AssignmentWorkflow.submit, late, id="sub-late")
        await time_env.sleep(30 * DAY)
        assert (await handle.query(AssignmentWorkflow.state)).escalation_level == 1
        with session_factory() as s:
            sub = s.scalars(select(Submission).where(Submission.key == "sub-late")).one()
            esc = s.scalars(select(Escalation).where(Escalation.assignment_id == aid)).one()
        assert sub.late and esc.resolved_at is not None
        new_due = (await time_env.get_current_time()) + 3 * DAY
        back = ReviewInput("rev-r", sup, "督查室", "return", comment="材料不全", new_due_at=new_due)
        await handle.execute_update(AssignmentWorkflow.review, back, id="rev-r")
        await time_env.sleep(3 * DAY + 7 * DAY + HOUR)
        await assert_eventually(level_is(handle, 2))
        assert _kinds(session_factory, aid).count("escalation_l2") == 1
        await handle.terminate("test over")


def _mirror(factory, assignment_id):
    with factory() as s:
        row = s.get_one(Assignment, assignment_id)
        return row.period_index, row.state
