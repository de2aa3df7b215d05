"""A signal and an Update that reach a run in one workflow task replay as they ran.

Messages that arrive while no worker polls (a new run before its first task, or the worker
down) share a task; the handlers then run in the order the server hands them over, and take
the write lock in that order. The replay must see the same order. On the dev server (as on a
real one) it does; the time-skipping test server hands a signal and an Update of a run's first
task to the worker in one order and to a replay in the other (found recording
tests/replay/histories, which wait for the first task before they signal), so these run on
the dev server.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory, WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from actions.temporal import DATA_CONVERTER
from tests.workflows.conftest import duban_worker
from tests.workflows.seed import assignment_input, quarterly, seed
from workflows.assignment import (
    ActionInput,
    AssignmentWorkflow,
    ExtensionRequestInput,
    UrgeInput,
)


async def _signal_and_update_together(
    env: WorkflowEnvironment, factory: sessionmaker[Session], *, started: bool
) -> WorkflowHistory:
    """Send an urge and an extension request while no worker polls (before the run's first
    task, or after a task when `started`), then let a worker take both; return the history."""
    seeded = seed(factory)
    now = await env.get_current_time()
    inp = assignment_input(seeded, "fpb", quarterly(now, count=1))
    wf_id, staff, sup = (
        seeded.workflow_id("fpb"),
        seeded.users["fpb-staff"],
        seeded.users["supervisor"],
    )
    queue = f"tq-{uuid.uuid4()}"
    handle = await env.client.start_workflow(
        AssignmentWorkflow.run, inp, id=wf_id, task_queue=queue
    )
    if started:
        async with duban_worker(env.client, factory, task_queue=queue):
            ack = ActionInput("a1", staff, "张三")
            await handle.execute_update(AssignmentWorkflow.acknowledge, ack, id="a1")
    await handle.signal(AssignmentWorkflow.urge, UrgeInput("u1", sup, "督查室", "请加快进度"))
    due = inp.periods[0].due_at + timedelta(days=20)
    ask = ExtensionRequestInput("e1", staff, "张三", due, "资金未到位")
    accepted = asyncio.create_task(
        handle.start_update(
            AssignmentWorkflow.request_extension,
            ask,
            id="e1",
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
    )
    await asyncio.sleep(1)  # the Update is with the server before a worker polls
    async with duban_worker(env.client, factory, task_queue=queue):
        await (await accepted).result()
        history: WorkflowHistory = await handle.fetch_history()
        await handle.terminate("test over")
    return history


def _assert_one_task(history: WorkflowHistory) -> None:
    """The urge and the extension request were taken by one workflow task."""
    names = [EventType.Name(e.event_type) for e in history.events]
    signal = names.index("EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED")
    accepted = next(
        i
        for i, e in enumerate(history.events)
        if names[i] == "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED"
        and e.workflow_execution_update_accepted_event_attributes.protocol_instance_id == "e1"
    )
    assert names[signal:accepted].count("EVENT_TYPE_WORKFLOW_TASK_COMPLETED") == 1


async def _replays(history: WorkflowHistory) -> None:
    replayer = Replayer(workflows=[AssignmentWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, repr(result.replay_failure)


async def test_a_signal_and_an_update_in_the_first_task_replay(dev_env, session_factory):
    history = await _signal_and_update_together(dev_env, session_factory, started=False)
    _assert_one_task(history)
    await _replays(history)


async def test_a_signal_and_an_update_in_a_later_task_replay(dev_env, session_factory):
    history = await _signal_and_update_together(dev_env, session_factory, started=True)
    _assert_one_task(history)
    await _replays(history)
