"""PolicyTaskWorkflow and the starter: children per department, leads close on their own terms."""

from __future__ import annotations

import asyncio
import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio import workflow
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from actions import temporal as workflow_calls
from actions.starter import build_task_inputs, settings_offsets, start_policy
from duban.db import make_engine, make_session_factory
from duban.domain import task_workflow_id
from duban.errors import NotFound
from duban.models import (
    Assignment,
    AssignmentPeriod,
    AuditEvent,
    Notification,
    Policy,
    PolicyItem,
    PolicyVersion,
)
from duban.schedule import LOCAL_TZ, end_of_day, plan_periods
from duban.settings import Settings
from tests.workflows.conftest import assert_eventually, duban_worker
from tests.workflows.seed import assignment_input, code_of, seed
from workflows.assignment import (
    ActionInput,
    AssignmentWorkflow,
    PeriodSpec,
    ReviewInput,
    SubmitInput,
)
from workflows.policy_task import PolicyRevisionInput, PolicyTaskInput, PolicyTaskWorkflow


async def test_lead_period_closes_on_approval_while_co_organizer_has_not_reported(
    dev_env, session_factory
):
    """The lead's approved period closes on its own terms; the co-organizer keeps its own clock."""
    seeded = seed(session_factory, ("fpb", "czt"))
    now = await dev_env.get_current_time()
    periods = [
        PeriodSpec(0, now + timedelta(days=30), "第1期"),
        PeriodSpec(1, now + timedelta(days=120), "第2期"),
    ]
    lead = assignment_input(seeded, "fpb", periods, cos=["czt"])
    co = assignment_input(seeded, "czt", periods, lead="fpb")
    task = PolicyTaskInput(seeded.policy_key, seeded.item, "保持稳定", 1, [co, lead])
    client, sup = dev_env.client, seeded.users["supervisor"]
    lead_id, co_id = (
        seeded.workflow_id(code_of(seeded, "fpb")),
        seeded.workflow_id(code_of(seeded, "czt")),
    )
    async with duban_worker(client, session_factory) as worker:
        task_handle = await client.start_workflow(
            PolicyTaskWorkflow.run,
            task,
            id=task_workflow_id(seeded.policy_key, seeded.item),
            task_queue=worker.task_queue,
        )

        async def children_running():
            assert (await task_handle.query(PolicyTaskWorkflow.status)).departments == sorted(
                [lead.department_code, co.department_code]
            )

        await assert_eventually(children_running)
        await workflow_calls.acknowledge(client, lead_id, ActionInput("l-a", 1, "牵头"))
        await workflow_calls.submit(client, lead_id, SubmitInput("l-s", 1, "牵头", "牵头单位报告"))
        await workflow_calls.review(
            client, lead_id, ReviewInput("l-r", sup, "督查室", "approve", 5)
        )

        async def lead_in_next_period():
            state = await workflow_calls.query_state(client, lead_id)
            assert state.period_index == 1 and state.periods[0].state == "approved"

        await assert_eventually(lead_in_next_period)
        co_state = await workflow_calls.query_state(client, co_id)
        assert (co_state.period_index, co_state.state) == (0, "assigned")

        async def read_model_follows():  # the next run writes its opening steps itself
            with session_factory() as s:
                rows = s.execute(
                    select(
                        Assignment.department_id, Assignment.period_index, Assignment.state
                    ).where(Assignment.policy.has(key=seeded.policy_key))
                ).all()
            by_index = sorted((period, state) for _, period, state in rows)
            assert by_index == [(0, "assigned"), (1, "in_progress")]

        await assert_eventually(read_model_follows)
        # The co-organizer reports later, on its own clock, and is reviewed on its own.
        await workflow_calls.acknowledge(client, co_id, ActionInput("c-a", 1, "配合"))
        await workflow_calls.submit(client, co_id, SubmitInput("c-s", 1, "配合", "配合单位报告"))
        await workflow_calls.review(client, co_id, ReviewInput("c-r", sup, "督查室", "approve", 3))

        async def co_in_next_period():
            assert (await workflow_calls.query_state(client, co_id)).period_index == 1

        await assert_eventually(co_in_next_period)
        await task_handle.terminate("test done")


async def test_start_policy_is_idempotent_and_signals_new_versions(dev_env, db_url):
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    seeded = seed(factory, ("fpb", "czt"), deadlines=[{"text": "2022年底前", "date": "2022-12-31"}])
    async with duban_worker(dev_env.client, factory) as worker:
        settings = Settings(database_url=db_url, task_queue=worker.task_queue)
        args: dict[str, Any] = {
            "session_factory": factory,
            "settings": settings,
            "policy_key": seeded.policy_key,
        }
        first = await start_policy(dev_env.client, **args)
        again = await start_policy(dev_env.client, **args)
        assert (first.started, first.already_running, first.signalled) == (1, 0, 0)
        assert (again.started, again.already_running, again.signalled) == (0, 1, 0)
        _new_version(factory, seeded.policy_key)
        third = await start_policy(dev_env.client, **args)
        assert (third.started, third.already_running, third.signalled) == (0, 0, 1)
        handle = dev_env.client.get_workflow_handle_for(
            PolicyTaskWorkflow.run, task_workflow_id(seeded.policy_key, seeded.item)
        )

        async def revised():
            assert (await handle.query(PolicyTaskWorkflow.status)).policy_version == 2
            assert await (await handle.describe()).memo_value("policy_version") == 2

        await assert_eventually(revised)
        lead_state = await workflow_calls.query_state(
            dev_env.client, seeded.workflow_id(code_of(seeded, "fpb"))
        )
        assert lead_state.periods[0].state == "historic" and lead_state.period_index == 1
        fourth = await start_policy(dev_env.client, **args)
        assert fourth.already_running == 1
        await handle.terminate("test over")
        assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    engine.dispose()


def _new_version(factory, policy_key, deadlines=None, *, drop=(), task=True):
    """Add version 2 of the policy, as a changed import would.

    The task stays (with new `deadlines` if given) unless `task` is False; departments whose
    assignment ids are in `drop` are no longer named.
    """
    with factory.begin() as s:
        policy = s.scalars(select(Policy).where(Policy.key == policy_key)).one()
        old = s.scalars(
            select(PolicyItem).join(PolicyVersion).where(PolicyVersion.policy_id == policy.id)
        ).one()
        version = PolicyVersion(
            policy=policy, version=2, content_sha256="v2", source_text="…v2", parsed={}
        )
        s.add(
            PolicyItem(
                version=version,
                number=old.number,
                section_number=2,
                section_title="二",
                title=old.title,
                body="…v2",
                is_task=task,
                deadlines=old.deadlines if deadlines is None else deadlines,
            )
        )
        policy.current_version = 2
        for a in s.scalars(select(Assignment).where(Assignment.policy_id == policy.id)):
            if a.id in drop or not task:
                a.removed_in_version = 2


def _off_month_end(day: date) -> date:
    """Return `day`, or the day before when it is a month's last day (cadence periods end there)."""
    return day if (day + timedelta(days=1)).day != 1 else day - timedelta(days=1)


async def test_a_new_version_with_a_moved_deadline_replans_the_periods(dev_env, session_factory):
    today = datetime.now(LOCAL_TZ).date()
    first, moved = (
        _off_month_end(today + timedelta(days=17)),
        _off_month_end(today + timedelta(days=75)),
    )
    v1 = [{"text": "限期完成", "date": first.isoformat()}]
    v2 = [{"text": "限期完成", "date": moved.isoformat()}]
    seeded = seed(session_factory, ("fpb", "czt"), deadlines=v1)
    lead_id = seeded.workflow_id(code_of(seeded, "fpb"))
    async with duban_worker(dev_env.client, session_factory) as worker:
        settings = Settings(task_queue=worker.task_queue)
        args = {
            "session_factory": session_factory,
            "settings": settings,
            "policy_key": seeded.policy_key,
        }
        await start_policy(dev_env.client, **args)

        async def opened():
            try:
                state = await workflow_calls.query_state(dev_env.client, lead_id)
            except NotFound as exc:  # the child is not started yet
                raise AssertionError(exc) from exc
            assert state.period_index == 0 and state.due_at == end_of_day(first)
            return state

        before = await assert_eventually(opened)
        _new_version(session_factory, seeded.policy_key, deadlines=v2)
        assert (await start_policy(dev_env.client, **args)).signalled == 1

        # The open period's deadline is gone from the new text: it moves to the revised plan's
        # next due date ahead, the original stays on record; later periods follow the new plan.
        with session_factory() as s:
            start = s.scalars(
                select(Policy.created_at).where(Policy.key == seeded.policy_key)
            ).one()
        planned = plan_periods(
            start=start.astimezone(LOCAL_TZ).date(),
            deadlines=[("限期完成", moved)],
        )
        ahead = next(p.due_at for p in planned if p.due_at > end_of_day(today))

        async def replanned():
            state = await workflow_calls.query_state(dev_env.client, lead_id)
            assert state.policy_version == 2
            assert (state.due_at, state.original_due_at) == (ahead, end_of_day(first))
            return state

        after = await assert_eventually(replanned)
        dues = [p.due_at for p in after.periods]
        assert end_of_day(moved) in dues and end_of_day(first) in [p.due_at for p in before.periods]
        assert dues == sorted(dues) and [p.index for p in after.periods] == list(range(len(dues)))

        async def stored():
            with session_factory() as s:
                a = s.get_one(Assignment, seeded.assignment_ids["fpb"])
                rows = s.scalars(
                    select(AssignmentPeriod)
                    .where(AssignmentPeriod.assignment_id == a.id)
                    .order_by(AssignmentPeriod.index)
                ).all()
                kinds = s.scalars(
                    select(AuditEvent.kind).where(AuditEvent.assignment_id == a.id)
                ).all()
                notes = s.scalars(
                    select(Notification.kind).where(Notification.assignment_id == a.id)
                ).all()
            assert (a.due_at, a.original_due_at) == (ahead, end_of_day(first))
            assert (rows[0].due_at, rows[0].original_due_at) == (ahead, end_of_day(first))
            assert [r.original_due_at for r in rows[1:]] == dues[1:]
            assert kinds.count("revised") == 1 and "due_moved" in notes

        await assert_eventually(stored)
        # The same version again changes nothing: no second revision is recorded.
        assert (await start_policy(dev_env.client, **args)).already_running == 1
        await stored()
        handle = dev_env.client.get_workflow_handle(
            task_workflow_id(seeded.policy_key, seeded.item)
        )
        await handle.terminate("test over")


async def _start(client, factory, worker, seeded):
    """Start the seeded policy's workflows on the worker; return the `start_policy` arguments."""
    args = {
        "session_factory": factory,
        "settings": Settings(task_queue=worker.task_queue),
        "policy_key": seeded.policy_key,
    }
    await start_policy(client, **args)
    return args


async def _started(client, wf_id):
    """Wait until a child has opened its first period; return its state."""

    async def check():
        try:
            state = await workflow_calls.query_state(client, wf_id)
        except NotFound as exc:
            raise AssertionError(exc) from exc
        assert state.due_at is not None
        return state

    return await assert_eventually(check)


def _events(factory, assignment_id):
    with factory() as s:
        kinds = s.scalars(select(AuditEvent.kind).where(AuditEvent.assignment_id == assignment_id))
        notes = s.scalars(
            select(Notification.kind).where(Notification.assignment_id == assignment_id)
        )
        return list(kinds), list(notes)


async def test_a_department_the_new_version_drops_is_withdrawn_and_its_lead_goes_on(
    dev_env, session_factory
):
    seeded = seed(session_factory, ("fpb", "czt"))
    lead_id, co_id = (seeded.workflow_id(code_of(seeded, c)) for c in ("fpb", "czt"))
    sup = seeded.users["supervisor"]
    async with duban_worker(dev_env.client, session_factory) as worker:
        args = await _start(dev_env.client, session_factory, worker, seeded)
        await _started(dev_env.client, lead_id)
        await _started(dev_env.client, co_id)
        _new_version(session_factory, seeded.policy_key, drop={seeded.assignment_ids["czt"]})
        assert (await start_policy(dev_env.client, **args)).signalled == 1
        co = dev_env.client.get_workflow_handle_for(AssignmentWorkflow.run, co_id)
        status = await co.result()
        assert status.completed and status.policy_version == 2
        kinds, notes = _events(session_factory, seeded.assignment_ids["czt"])
        assert kinds[-1] == "withdrawn" and "completed" not in kinds and "withdrawn" in notes
        # The lead no longer waits for the withdrawn co-organizer: approving closes its period.
        await workflow_calls.acknowledge(dev_env.client, lead_id, ActionInput("l-a", sup, "x"))
        await workflow_calls.submit(dev_env.client, lead_id, SubmitInput("l-s", sup, "x", "报告"))
        await workflow_calls.review(
            dev_env.client, lead_id, ReviewInput("l-r", sup, "督查室", "approve", 4)
        )

        async def lead_closed():
            kinds, _ = _events(session_factory, seeded.assignment_ids["fpb"])
            assert "period_closed" in kinds

        await assert_eventually(lead_closed)
        handle = dev_env.client.get_workflow_handle(
            task_workflow_id(seeded.policy_key, seeded.item)
        )
        await handle.terminate("test over")


async def test_a_task_the_new_version_drops_ends_with_all_its_assignments(dev_env, session_factory):
    seeded = seed(session_factory, ("fpb", "czt"))
    async with duban_worker(dev_env.client, session_factory) as worker:
        args = await _start(dev_env.client, session_factory, worker, seeded)
        for code in ("fpb", "czt"):
            await _started(dev_env.client, seeded.workflow_id(code_of(seeded, code)))
        _new_version(session_factory, seeded.policy_key, task=False)
        assert (await start_policy(dev_env.client, **args)).signalled == 1
        task = dev_env.client.get_workflow_handle_for(
            PolicyTaskWorkflow.run, task_workflow_id(seeded.policy_key, seeded.item)
        )
        result = await task.result()
        assert result.completed == result.departments and len(result.departments) == 2
        for code in ("fpb", "czt"):
            kinds, _ = _events(session_factory, seeded.assignment_ids[code])
            assert kinds[-1] == "withdrawn"
        # Importing the same version again signals nothing more.
        again = await start_policy(dev_env.client, **args)
        assert again.signalled == 0


def _two_versions_without_co(factory):
    """Seed a lead and a co-organizer; return the seed and the task inputs of v1 and of v2 (lead only)."""
    seeded = seed(factory, ("fpb", "czt"))
    offsets = settings_offsets(Settings())
    with factory() as s:
        (v1,) = build_task_inputs(s, seeded.policy_key, offsets)
    _new_version(factory, seeded.policy_key, drop={seeded.assignment_ids["czt"]})
    with factory() as s:
        (v2,) = build_task_inputs(s, seeded.policy_key, offsets)
    return seeded, v1, v2


async def test_a_revision_before_the_children_start_is_what_they_start_with(
    dev_env, session_factory
):
    # A second import can reach a task before its first workflow task has started any child.
    seeded, v1, v2 = _two_versions_without_co(session_factory)
    lead_id, co_id = (seeded.workflow_id(code_of(seeded, c)) for c in ("fpb", "czt"))
    revision = PolicyRevisionInput(v2.policy_version, v2.title, v2.assignments)
    async with duban_worker(dev_env.client, session_factory) as worker:
        task = await dev_env.client.start_workflow(
            PolicyTaskWorkflow.run,
            v1,
            id=task_workflow_id(seeded.policy_key, seeded.item),
            task_queue=worker.task_queue,
            start_signal="revise",
            start_signal_args=[revision],
        )
        state = await _started(dev_env.client, lead_id)
        assert state.policy_version == 2
        status = await task.query(PolicyTaskWorkflow.status)
        assert (status.policy_version, status.departments) == (2, [code_of(seeded, "fpb")])
        with pytest.raises(NotFound):
            await workflow_calls.query_state(dev_env.client, co_id)
        assert _events(session_factory, seeded.assignment_ids["czt"]) == ([], [])
        await task.terminate("test over")


class _HoldFirstTask(Interceptor):
    """Hold a PolicyTaskWorkflow's first workflow task until the test has sent its signal.

    The signal arrives while the children that task starts are still being started: the race
    between a first import and a second one right after it. The hold ends when the test says
    the signal is in (`release`), at the latest after 1.5 s, below the SDK's 2 s deadlock
    detector.
    """

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.release = threading.Event()

    def _hold(self) -> None:
        self.holding.set()
        self.release.wait(timeout=1.5)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        input.unsafe_extern_functions["hold_first_task"] = self._hold
        return _HoldingInbound


class _HoldingInbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        if (
            workflow.info().workflow_type == "PolicyTaskWorkflow"
            and not workflow.unsafe.is_replaying()
        ):
            workflow.extern_functions()["hold_first_task"]()
        return await super().execute_workflow(input)


async def test_a_revision_while_the_children_are_being_started_reaches_them(
    dev_env, session_factory
):
    seeded, v1, v2 = _two_versions_without_co(session_factory)
    lead_id, co_id = (seeded.workflow_id(code_of(seeded, c)) for c in ("fpb", "czt"))
    hold = _HoldFirstTask()
    async with duban_worker(dev_env.client, session_factory, interceptors=[hold]) as worker:
        task = await dev_env.client.start_workflow(
            PolicyTaskWorkflow.run,
            v1,
            id=task_workflow_id(seeded.policy_key, seeded.item),
            task_queue=worker.task_queue,
        )
        assert await asyncio.to_thread(hold.holding.wait, 30)
        await task.signal(
            PolicyTaskWorkflow.revise,
            PolicyRevisionInput(v2.policy_version, v2.title, v2.assignments),
        )
        hold.release.set()  # the signal is in: let the held task go on
        co = dev_env.client.get_workflow_handle_for(AssignmentWorkflow.run, co_id)

        async def co_started():
            try:
                return await co.describe()
            except RPCError as exc:
                raise AssertionError(exc) from exc

        await assert_eventually(co_started)
        async with asyncio.timeout(30):  # with the race lost, the co-organizer runs on
            assert (await co.result()).policy_version == 2
        assert _events(session_factory, seeded.assignment_ids["czt"])[0][-1] == "withdrawn"

        async def lead_revised():
            assert (await workflow_calls.query_state(dev_env.client, lead_id)).policy_version == 2

        await assert_eventually(lead_revised)
        await task.terminate("test over")
