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

from temporalio.client import WorkflowUpdateStage
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


async def test_a_signal_and_an_update_in_the_first_task_replay(dev_env, session_factory):
    seeded = seed(session_factory)
    now = await dev_env.get_current_time()
    inp = assignment_input(seeded, "fpb", quarterly(now, count=1))
    wf_id, staff, sup = (
        seeded.workflow_id("fpb"),
        seeded.users["fpb-staff"],
        seeded.users["supervisor"],
    )
    queue = f"tq-{uuid.uuid4()}"
    # No worker yet: the start, the signal and the Update wait for the first task together.
    handle = await dev_env.client.start_workflow(
        AssignmentWorkflow.run, inp, id=wf_id, task_queue=queue
    )
    await handle.signal(AssignmentWorkflow.urge, UrgeInput("u1", sup, "督查室", "请加快进度"))
    ask = ExtensionRequestInput(
        "e1", staff, "张三", inp.periods[0].due_at + timedelta(days=20), "资金未到位"
    )
    accepted = asyncio.create_task(
        handle.start_update(
            AssignmentWorkflow.request_extension,
            ask,
            id="e1",
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
    )
    await asyncio.sleep(1)  # the Update is with the server before a worker polls
    async with duban_worker(dev_env.client, session_factory, task_queue=queue):
        update = await accepted
        await update.result()
        history = await handle.fetch_history()
        await handle.terminate("test over")
    replayer = Replayer(workflows=[AssignmentWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, repr(result.replay_failure)
    kinds = [e.event_type for e in history.events]
    assert len(kinds) > 10


async def test_a_signal_and_an_update_in_a_later_task_replay(dev_env, session_factory):
    seeded = seed(session_factory)
    now = await dev_env.get_current_time()
    inp = assignment_input(seeded, "fpb", quarterly(now, count=1))
    wf_id, staff, sup = (
        seeded.workflow_id("fpb"),
        seeded.users["fpb-staff"],
        seeded.users["supervisor"],
    )
    queue = f"tq-{uuid.uuid4()}"
    async with duban_worker(dev_env.client, session_factory, task_queue=queue):
        handle = await dev_env.client.start_workflow(
            AssignmentWorkflow.run, inp, id=wf_id, task_queue=queue
        )
        await handle.execute_update(
            AssignmentWorkflow.acknowledge, ActionInput("a1", staff, "张三"), id="a1"
        )
    # The worker is down: the signal and the Update wait for the same task.
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
    await asyncio.sleep(1)
    async with duban_worker(dev_env.client, session_factory, task_queue=queue):
        update = await accepted
        await update.result()
        history = await handle.fetch_history()
        await handle.terminate("test over")
    replayer = Replayer(workflows=[AssignmentWorkflow], data_converter=DATA_CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, repr(result.replay_failure)
