"""Record representative histories into histories/*.json: `uv run python -m tests.replay.record`."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from actions.temporal import DATA_CONVERTER
from duban.db import make_engine, make_session_factory
from duban.domain import task_workflow_id
from tests.db import sqlite_url
from tests.polling import eventually
from tests.workflows.conftest import BIN, duban_worker
from tests.workflows.seed import DAY, assignment_input, code_of, quarterly, seed
from workflows.assignment import (
    ActionInput,
    AssignmentRevision,
    AssignmentWorkflow,
    ExtensionDecisionInput,
    ExtensionRequestInput,
    PeriodSpec,
    ReviewInput,
    SetDueInput,
    SignOffInput,
    SubmitInput,
    UrgeInput,
)
from workflows.policy_task import PolicyRevisionInput, PolicyTaskInput, PolicyTaskWorkflow

HISTORIES = Path(__file__).parent / "histories"
# Appended to the file names, so a scenario recorded again after a change keeps the old file.
SUFFIX = ""


async def _save(client: Client, wf_id: str, run_id: str | None, name: str) -> None:
    history = await client.get_workflow_handle(wf_id, run_id=run_id).fetch_history()
    data = json.loads(history.to_json())
    (HISTORIES / f"{name}{SUFFIX}.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    )


async def _calendar(env: WorkflowEnvironment, factory) -> None:
    """Reminders, the ladder, a late submission, a return, approval, continue-as-new, completion."""
    seeded = seed(factory)
    now = await env.get_current_time()
    inp = assignment_input(seeded, "fpb", quarterly(now, count=2, historic=1))
    wf_id, staff, sup = (
        seeded.workflow_id("fpb"),
        seeded.users["fpb-staff"],
        seeded.users["supervisor"],
    )
    async with duban_worker(env.client, factory) as worker:
        first: WorkflowHandle = await env.client.start_workflow(  # type: ignore[type-arg]
            AssignmentWorkflow.run, inp, id=wf_id, task_queue=worker.task_queue
        )
        handle = env.client.get_workflow_handle_for(AssignmentWorkflow.run, wf_id)
        await handle.execute_update(
            AssignmentWorkflow.acknowledge, ActionInput("a1", staff, "张三"), id="a1"
        )
        await env.sleep(100 * DAY)
        await handle.execute_update(
            AssignmentWorkflow.submit, SubmitInput("s1", staff, "张三", "迟报"), id="s1"
        )
        back = ReviewInput(
            "r1",
            sup,
            "督查室",
            "return",
            comment="补充材料",
            new_due_at=await env.get_current_time() + 5 * DAY,
        )
        await handle.execute_update(AssignmentWorkflow.review, back, id="r1")
        await env.sleep(2 * DAY)
        await handle.execute_update(
            AssignmentWorkflow.submit, SubmitInput("s2", staff, "张三", "补报"), id="s2"
        )
        await handle.execute_update(
            AssignmentWorkflow.review, ReviewInput("r2", sup, "督查室", "approve", 4), id="r2"
        )
        await env.sleep(10 * DAY)
        await handle.execute_update(
            AssignmentWorkflow.submit, SubmitInput("s3", staff, "张三", "第二期"), id="s3"
        )
        await handle.execute_update(
            AssignmentWorkflow.review, ReviewInput("r3", sup, "督查室", "approve", 5), id="r3"
        )
        await handle.result()
        await _save(env.client, wf_id, first.result_run_id, "assignment_calendar_run1")
        await _save(env.client, wf_id, None, "assignment_calendar_last_run")


async def _extensions(env: WorkflowEnvironment, factory) -> None:
    """An urge, an extension asked and granted, a supervisor's due-date move, one refusal."""
    seeded = seed(factory)
    now = await env.get_current_time()
    inp = assignment_input(seeded, "fpb", quarterly(now, count=1))
    wf_id, staff, sup = (
        seeded.workflow_id("fpb"),
        seeded.users["fpb-staff"],
        seeded.users["supervisor"],
    )
    due = inp.periods[0].due_at
    async with duban_worker(env.client, factory) as worker:
        handle = await env.client.start_workflow(
            AssignmentWorkflow.run, inp, id=wf_id, task_queue=worker.task_queue
        )
        # The run's first task first: the time-skipping server hands a signal and an Update
        # that share that task to the worker in one order and to a replay in the other, a
        # history no replay accepts (the dev server does not; tests/workflows/test_first_task.py).
        await handle.query(AssignmentWorkflow.state)
        await handle.signal(AssignmentWorkflow.urge, UrgeInput("u1", sup, "督查室", "请加快进度"))
        ask = ExtensionRequestInput("e1", staff, "张三", due + 20 * DAY, "资金未到位")
        await handle.execute_update(AssignmentWorkflow.request_extension, ask, id="e1")
        grant = ExtensionDecisionInput("d1", sup, "督查室", "e1", True, comment="同意")
        await handle.execute_update(AssignmentWorkflow.decide_extension, grant, id="d1")
        ask2 = ExtensionRequestInput("e2", staff, "张三", due + 60 * DAY, "再延")
        await handle.execute_update(AssignmentWorkflow.request_extension, ask2, id="e2")
        refuse = ExtensionDecisionInput("d2", sup, "督查室", "e2", False, comment="不同意")
        await handle.execute_update(AssignmentWorkflow.decide_extension, refuse, id="d2")
        move = SetDueInput("m1", sup, "督查室", due + 10 * DAY, "统一调整")
        await handle.execute_update(AssignmentWorkflow.set_due, move, id="m1")
        await env.sleep(110 * DAY)
        await handle.execute_update(
            AssignmentWorkflow.acknowledge, ActionInput("a1", staff, "张三"), id="a1"
        )
        await handle.execute_update(
            AssignmentWorkflow.submit, SubmitInput("s1", staff, "张三", "报告"), id="s1"
        )
        await handle.execute_update(
            AssignmentWorkflow.review, ReviewInput("r1", sup, "督查室", "approve", 3), id="r1"
        )
        await handle.result()
        await _save(env.client, wf_id, None, "assignment_extensions")


async def _lead_and_co(env: WorkflowEnvironment, factory):
    """Seed a task with a lead and a co-organizer, one period of 30 days each."""
    seeded = seed(factory, ("fpb", "czt"))
    now = await env.get_current_time()
    periods = [PeriodSpec(0, now + 30 * DAY, "第1期")]
    lead = assignment_input(seeded, "fpb", periods, cos=["czt"])
    co = assignment_input(seeded, "czt", periods, lead="fpb")
    return seeded, lead, co


async def _start_task(env, worker, seeded, assignments, **options):
    """Start the seeded task's PolicyTaskWorkflow (version 1) on the worker; return its handle."""
    return await env.client.start_workflow(
        PolicyTaskWorkflow.run,
        PolicyTaskInput(seeded.policy_key, seeded.item, "任务", 1, assignments),
        id=task_workflow_id(seeded.policy_key, seeded.item),
        task_queue=worker.task_queue,
        **options,
    )


async def _task(env: WorkflowEnvironment, factory) -> None:
    """A task with a lead and a co-organizer, one period each, to completion."""
    seeded, lead, co = await _lead_and_co(env, factory)
    sup = seeded.users["supervisor"]
    async with duban_worker(env.client, factory) as worker:
        task = await _start_task(env, worker, seeded, [lead, co])
        for code, rating in (("fpb", 5), ("czt", 4)):
            wf = env.client.get_workflow_handle_for(
                AssignmentWorkflow.run, seeded.workflow_id(code_of(seeded, code))
            )
            await _when_started(wf)
            await wf.execute_update(
                AssignmentWorkflow.acknowledge, ActionInput(f"a-{code}", sup, "x"), id=f"a-{code}"
            )
            await wf.execute_update(
                AssignmentWorkflow.submit,
                SubmitInput(f"s-{code}", sup, "x", "报告"),
                id=f"s-{code}",
            )
            await wf.execute_update(
                AssignmentWorkflow.review,
                ReviewInput(f"r-{code}", sup, "督查室", "approve", rating),
                id=f"r-{code}",
            )
        await task.result()
        await _save(env.client, task.id, None, "policy_task")
        await _save(env.client, seeded.workflow_id(code_of(seeded, "fpb")), None, "assignment_lead")


async def _revision(env: WorkflowEnvironment, factory) -> None:
    """A newer version moves the open period's due date and adds a period; both run to the end."""
    seeded = seed(factory)
    now = await env.get_current_time()
    inp = assignment_input(seeded, "fpb", quarterly(now, count=1))
    wf_id, staff, sup = (
        seeded.workflow_id("fpb"),
        seeded.users["fpb-staff"],
        seeded.users["supervisor"],
    )
    revised = [
        PeriodSpec(0, now + 100 * DAY, "修订后期限", "deadline"),
        PeriodSpec(1, now + 200 * DAY, "第2期"),
    ]
    async with duban_worker(env.client, factory) as worker:
        handle = await env.client.start_workflow(
            AssignmentWorkflow.run, inp, id=wf_id, task_queue=worker.task_queue
        )
        first_run = handle.first_execution_run_id
        await handle.signal(AssignmentWorkflow.revise, AssignmentRevision(2, revised))
        await handle.execute_update(
            AssignmentWorkflow.acknowledge, ActionInput("a1", staff, "张三"), id="a1"
        )
        for n in (1, 2):
            await handle.execute_update(
                AssignmentWorkflow.submit, SubmitInput(f"s{n}", staff, "张三", "报告"), id=f"s{n}"
            )
            await handle.execute_update(
                AssignmentWorkflow.review,
                ReviewInput(f"r{n}", sup, "督查室", "approve", 4),
                id=f"r{n}",
            )
            await env.sleep(DAY)
        await handle.result()
        await _save(env.client, wf_id, first_run, "assignment_revision")


async def _withdrawal(env: WorkflowEnvironment, factory) -> None:
    """A newer version drops the co-organizer (withdrawn) and the lead closes alone."""
    seeded, lead, co = await _lead_and_co(env, factory)
    sup = seeded.users["supervisor"]
    async with duban_worker(env.client, factory) as worker:
        task = await _start_task(env, worker, seeded, [lead, co])
        handles = {
            code: env.client.get_workflow_handle_for(
                AssignmentWorkflow.run, seeded.workflow_id(code_of(seeded, code))
            )
            for code in ("fpb", "czt")
        }
        for handle in handles.values():
            await _when_started(handle)
        alone = replace(lead, co_department_codes=[], policy_version=2)
        await task.signal(PolicyTaskWorkflow.revise, PolicyRevisionInput(2, "任务", [alone]))
        await handles["czt"].result()
        await handles["fpb"].execute_update(
            AssignmentWorkflow.acknowledge, ActionInput("a-fpb", sup, "x"), id="a-fpb"
        )
        await handles["fpb"].execute_update(
            AssignmentWorkflow.submit, SubmitInput("s-fpb", sup, "x", "报告"), id="s-fpb"
        )
        await handles["fpb"].execute_update(
            AssignmentWorkflow.review,
            ReviewInput("r-fpb", sup, "督查室", "approve", 5),
            id="r-fpb",
        )
        await task.result()
        await _save(env.client, task.id, None, "policy_task_withdrawal")
        await _save(env.client, handles["czt"].id, None, "assignment_withdrawn")


async def _early_revision(env: WorkflowEnvironment, factory) -> None:
    """A newer version dropping the co-organizer reaches the task before any child started."""
    seeded, lead, co = await _lead_and_co(env, factory)
    sup = seeded.users["supervisor"]
    alone = replace(lead, co_department_codes=[], policy_version=2)
    async with duban_worker(env.client, factory) as worker:
        task = await _start_task(
            env,
            worker,
            seeded,
            [lead, co],
            start_signal="revise",
            start_signal_args=[PolicyRevisionInput(2, "任务", [alone])],
        )
        handle = env.client.get_workflow_handle_for(
            AssignmentWorkflow.run, seeded.workflow_id(code_of(seeded, "fpb"))
        )
        await _when_started(handle)
        await handle.execute_update(
            AssignmentWorkflow.acknowledge, ActionInput("a-fpb", sup, "x"), id="a-fpb"
        )
        await handle.execute_update(
            AssignmentWorkflow.submit, SubmitInput("s-fpb", sup, "x", "报告"), id="s-fpb"
        )
        await handle.execute_update(
            AssignmentWorkflow.review,
            ReviewInput("r-fpb", sup, "督查室", "approve", 5),
            id="r-fpb",
        )
        await task.result()
        await _save(env.client, task.id, None, "policy_task_early_revision")


async def _when_started(handle: WorkflowHandle) -> None:  # type: ignore[type-arg]
    """Wait until the server knows the workflow (fail at the deadline, never go on unsure)."""

    async def described() -> bool:
        try:
            await handle.describe()
        except RPCError:
            return False
        return True

    await eventually(described, within=10)


async def _sign_off(env: WorkflowEnvironment, factory) -> None:
    """A member's report held for the head: returned once, signed off, approved (patch taken)."""
    seeded = seed(factory)
    now = await env.get_current_time()
    inp = assignment_input(seeded, "fpb", quarterly(now, count=1))
    wf_id, staff, head, sup = (
        seeded.workflow_id("fpb"),
        seeded.users["fpb-staff"],
        seeded.users["fpb-head"],
        seeded.users["supervisor"],
    )
    async with duban_worker(env.client, factory) as worker:
        handle = await env.client.start_workflow(
            AssignmentWorkflow.run, inp, id=wf_id, task_queue=worker.task_queue
        )
        update = AssignmentWorkflow
        await handle.execute_update(update.acknowledge, ActionInput("a1", staff, "张三"), id="a1")
        held = SubmitInput("s1", staff, "张三", "初稿", needs_sign_off=True)
        await handle.execute_update(update.submit, held, id="s1")
        back = SignOffInput("h1", head, "李处长", approve=False, comment="补数据")
        await handle.execute_update(update.sign_off, back, id="h1")
        again = SubmitInput("s2", staff, "张三", "修改稿", needs_sign_off=True)
        await handle.execute_update(update.submit, again, id="s2")
        await env.sleep(DAY)
        ok = SignOffInput("h2", head, "李处长", approve=True)
        await handle.execute_update(update.sign_off, ok, id="h2")
        approve = ReviewInput("r1", sup, "督查室", "approve", 5)
        await handle.execute_update(update.review, approve, id="r1")
        await handle.result()
        await _save(env.client, wf_id, None, "assignment_sign_off")


SCENARIOS = {
    "calendar": _calendar,
    "extensions": _extensions,
    "task": _task,
    "revision": _revision,
    "withdrawal": _withdrawal,
    "early_revision": _early_revision,
    "sign_off": _sign_off,
}


async def main(names: list[str]) -> None:
    """Run the named scenarios (all by default) on the time-skipping server; write their histories.

    Record only new scenarios: the histories already here were recorded by older code, which
    is what lets them catch a change that would break running workflows.
    """
    HISTORIES.mkdir(exist_ok=True)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"), data_converter=DATA_CONVERTER
    )
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(sqlite_url(Path(tmp)))
        factory = make_session_factory(engine)
        try:
            for name in names or list(SCENARIOS):
                await SCENARIOS[name](env, factory)
        finally:
            engine.dispose()
            await env.shutdown()


if __name__ == "__main__":
    # `python -m tests.replay.record [--suffix=_v2] [scenario ...]`
    args = sys.argv[1:]
    if args and args[0].startswith("--suffix="):
        SUFFIX = args.pop(0).removeprefix("--suffix=")
    asyncio.run(main(args))
