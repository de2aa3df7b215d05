"""Updates, validators and idempotency on the dev server, with offsets of seconds."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType

from actions import temporal as workflow_calls
from duban.errors import Conflict, Invalid, NotFound
from duban.models import AuditEvent, Escalation, Notification, Submission
from tests.workflows.conftest import assert_eventually, duban_worker
from tests.workflows.seed import assignment_input, seed
from workflows.assignment import (
    ActionInput,
    AssignmentWorkflow,
    PeriodSpec,
    ReviewInput,
    SetDueInput,
    SubmitInput,
)
from workflows.assignment_engine import CURRENT_RUN

SEC = timedelta(seconds=1)


async def _started(env, factory, due_in, **kw):
    seeded = seed(factory)
    now = await env.get_current_time()
    inp = assignment_input(seeded, "fpb", [PeriodSpec(0, now + due_in, "第1期")], **kw)
    worker = duban_worker(env.client, factory)
    return seeded, inp, worker


async def test_validators_reject_with_chinese_messages(dev_env, session_factory):
    seeded, inp, worker = await _started(dev_env, session_factory, timedelta(days=30))
    client, wf_id = dev_env.client, seeded.workflow_id("fpb")
    sup = seeded.users["supervisor"]
    async with worker:
        await client.start_workflow(
            AssignmentWorkflow.run, inp, id=wf_id, task_queue=worker.task_queue
        )
        with pytest.raises(Conflict, match="没有待审核的报送"):
            await workflow_calls.review(
                client, wf_id, ReviewInput("r0", sup, "督查室", "approve", 4)
            )
        with pytest.raises(Conflict, match="请先签收"):
            await workflow_calls.submit(client, wf_id, SubmitInput("s0", 1, "张三", "未签收"))
        await workflow_calls.acknowledge(client, wf_id, ActionInput("a1", 1, "张三"))
        await workflow_calls.submit(client, wf_id, SubmitInput("s1", 1, "张三", "进展"))
        with pytest.raises(Invalid, match="评分须为 1 至 5 分"):
            await workflow_calls.review(
                client, wf_id, ReviewInput("r1", sup, "督查室", "approve", 6)
            )
        with pytest.raises(Invalid, match="退回时须说明理由"):
            await workflow_calls.review(
                client, wf_id, ReviewInput("r2", sup, "督查室", "return", None, " ")
            )
        past = await dev_env.get_current_time() - SEC
        with pytest.raises(Invalid, match="新的期限须晚于当前时间"):
            await workflow_calls.set_due(client, wf_id, SetDueInput("d1", sup, "督查室", past))
        with pytest.raises(Conflict, match="本期已报送"):
            await workflow_calls.submit(client, wf_id, SubmitInput("s2", 1, "张三", "再报"))
        with pytest.raises(NotFound):
            await workflow_calls.acknowledge(
                client, wf_id + "-missing", ActionInput("a", 1, "张三")
            )
        state = await workflow_calls.query_state(client, wf_id)
        assert (state.state, state.period_index) == ("submitted", 0)
        # Rejected Updates leave no trace in history or the read model.
        with session_factory() as s:
            kinds = s.scalars(
                select(AuditEvent.kind).where(AuditEvent.assignment_id == inp.assignment_id)
            ).all()
        assert sorted(kinds) == ["acknowledged", "assigned", "period_opened", "submitted"]
        await client.get_workflow_handle(wf_id).terminate("test over")


async def test_repeated_submit_and_approve_change_nothing(dev_env, session_factory):
    seeded, inp, worker = await _started(dev_env, session_factory, timedelta(days=30))
    client, wf_id = dev_env.client, seeded.workflow_id("fpb")
    staff, sup = seeded.users["fpb-staff"], seeded.users["supervisor"]
    async with worker:
        await client.start_workflow(
            AssignmentWorkflow.run, inp, id=wf_id, task_queue=worker.task_queue
        )
        await workflow_calls.acknowledge(client, wf_id, ActionInput("ack-key", staff, "张三"))
        submit = SubmitInput("submit-key", staff, "张三", "第一季度进展")
        first = await workflow_calls.submit(client, wf_id, submit)
        again = await workflow_calls.submit(client, wf_id, submit)
        assert first == again
        approve = ReviewInput("approve-key", sup, "督查室", "approve", rating=5, comment="很好")
        approved = await workflow_calls.review(client, wf_id, approve)
        assert approved.state == "approved"
        # The single period closes, so the workflow completes; the repeat returns the first result.
        status = await client.get_workflow_handle_for(AssignmentWorkflow.run, wf_id).result()
        assert status.completed and status.periods[0].rating == 5
        with session_factory() as s:
            subs = s.scalar(
                select(func.count()).select_from(Submission).where(Submission.key == "submit-key")
            )
            sub = s.scalars(select(Submission).where(Submission.key == "submit-key")).one()
        assert subs == 1 and (sub.state, sub.rating, sub.late) == ("approved", 5, False)


async def test_ladder_in_seconds_climbs_and_stops_on_submission(dev_env, session_factory):
    seeded, inp, worker = await _started(
        dev_env, session_factory, 2 * SEC, reminders=[SEC], ladder=[SEC, 2 * SEC, 3 * SEC]
    )
    client, wf_id = dev_env.client, seeded.workflow_id("fpb")
    async with worker:
        await client.start_workflow(
            AssignmentWorkflow.run, inp, id=wf_id, task_queue=worker.task_queue
        )

        async def level_three():
            assert (await workflow_calls.query_state(client, wf_id)).escalation_level == 3

        await assert_eventually(level_three, within=20)
        await workflow_calls.acknowledge(client, wf_id, ActionInput("ack", 1, "张三"))
        await workflow_calls.submit(client, wf_id, SubmitInput("late", 1, "张三", "迟报"))
        with session_factory() as s:
            rows = s.scalars(
                select(Escalation).where(Escalation.assignment_id == inp.assignment_id)
            ).all()
            kinds = s.scalars(
                select(AuditEvent.kind).where(AuditEvent.assignment_id == inp.assignment_id)
            ).all()
        assert sorted(r.level for r in rows) == [1, 2, 3]
        assert all(r.resolved_at is not None for r in rows)
        assert kinds.count("reminder") == 1
        await client.get_workflow_handle(wf_id).terminate("test over")


def _timer_and_patch_events(history) -> tuple[int, int, list[str]]:
    """Return (timers started, timers cancelled, patch ids marked) of a history."""
    started = cancelled = 0
    patches: list[str] = []
    for event in history.events:
        name = EventType.Name(event.event_type)
        started += name == "EVENT_TYPE_TIMER_STARTED"
        cancelled += name == "EVENT_TYPE_TIMER_CANCELED"
        marker = event.marker_recorded_event_attributes
        if name == "EVENT_TYPE_MARKER_RECORDED" and marker.marker_name == "core_patch":
            data = marker.details["patch-data"].payloads[0].data
            patches.append(json.loads(data)["id"])
    return started, cancelled, patches


async def test_an_action_that_leaves_the_alarm_keeps_its_timer(dev_env, session_factory):
    """A run on CURRENT_RUN marks one patch, and an acknowledge (the alarm stays where it was)
    neither cancels nor sets a timer; moving the due date sets the alarm's timer again."""
    seeded, inp, worker = await _started(dev_env, session_factory, timedelta(days=30))
    client, wf_id = dev_env.client, seeded.workflow_id("fpb")
    sup = seeded.users["supervisor"]
    async with worker:
        handle = await client.start_workflow(
            AssignmentWorkflow.run, inp, id=wf_id, task_queue=worker.task_queue
        )
        await workflow_calls.acknowledge(client, wf_id, ActionInput("a1", 1, "张三"))
        assert _timer_and_patch_events(await handle.fetch_history()) == (1, 0, [CURRENT_RUN])
        later = await dev_env.get_current_time() + timedelta(days=40)
        await workflow_calls.set_due(client, wf_id, SetDueInput("d1", sup, "督查室", later))
        assert _timer_and_patch_events(await handle.fetch_history()) == (2, 1, [CURRENT_RUN])
        await handle.terminate("test over")


async def test_a_report_and_its_notice_are_one_write(dev_env, session_factory):
    """On CURRENT_RUN a notice that is not mailed is written with its step: the supervisors'
    notice is there when the report's answer comes, and no notify activity ran for it."""
    seeded, inp, worker = await _started(dev_env, session_factory, timedelta(days=30))
    client, wf_id = dev_env.client, seeded.workflow_id("fpb")
    async with worker:
        handle = await client.start_workflow(
            AssignmentWorkflow.run, inp, id=wf_id, task_queue=worker.task_queue
        )
        await workflow_calls.acknowledge(client, wf_id, ActionInput("a1", 1, "张三"))
        await workflow_calls.submit(client, wf_id, SubmitInput("s1", 1, "张三", "进展"))
        with session_factory() as s:
            kinds = s.scalars(
                select(Notification.kind).where(Notification.assignment_id == inp.assignment_id)
            ).all()
        history = await handle.fetch_history()
        await handle.terminate("test over")
    assert "submitted" in kinds
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled == ["record", "record"]  # the two Updates' first writes; no notify
