"""PolicyTaskWorkflow and the starter: children per department, leads wait for co-organizers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from temporalio.client import WorkflowExecutionStatus

from duban import temporal as duban_temporal
from duban.db import make_engine, make_session_factory
from duban.domain import task_workflow_id
from duban.models import Assignment, Policy, PolicyItem, PolicyVersion
from duban.settings import Settings
from duban.starter import start_policy
from tests.workflows.conftest import assert_eventually, duban_worker
from tests.workflows.seed import assignment_input, code_of, seed
from workflows.assignment import PeriodSpec, ReviewInput, SubmitInput
from workflows.policy_task import PolicyTaskInput, PolicyTaskWorkflow


async def test_lead_period_closes_only_after_co_organizer_reported(dev_env, session_factory):
    seeded = seed(session_factory, ("fpb", "czt"))
    now = await dev_env.get_current_time()
    periods = [PeriodSpec(0, now + timedelta(days=30), "第1期")]
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
        await duban_temporal.submit(client, lead_id, SubmitInput("l-s", 1, "牵头", "牵头单位报告"))
        await duban_temporal.review(
            client, lead_id, ReviewInput("l-r", sup, "督查室", "approve", 5)
        )
        state = await duban_temporal.query_state(client, lead_id)
        assert (state.state, state.completed) == ("approved", False)
        await duban_temporal.submit(client, co_id, SubmitInput("c-s", 1, "配合", "配合单位报告"))

        async def lead_completed():
            assert (await duban_temporal.query_state(client, lead_id)).completed

        await assert_eventually(lead_completed)
        await duban_temporal.review(client, co_id, ReviewInput("c-r", sup, "督查室", "approve", 3))
        result = await task_handle.result()
        assert (
            result.completed
            == result.departments
            == sorted([lead.department_code, co.department_code])
        )
        with session_factory() as s:
            states = s.scalars(
                select(Assignment.state).where(Assignment.policy.has(key=seeded.policy_key))
            ).all()
        assert states == ["completed", "completed"]


async def test_start_policy_is_idempotent_and_signals_new_versions(dev_env, db_url):
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    seeded = seed(factory, ("fpb", "czt"), deadlines=[{"text": "2022年底前", "date": "2022-12-31"}])
    async with duban_worker(dev_env.client, factory) as worker:
        settings = Settings(database_url=db_url, task_queue=worker.task_queue)
        args = {"session_factory": factory, "settings": settings, "policy_key": seeded.policy_key}
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
        lead_state = await duban_temporal.query_state(
            dev_env.client, seeded.workflow_id(code_of(seeded, "fpb"))
        )
        assert lead_state.periods[0].state == "historic" and lead_state.period_index == 1
        fourth = await start_policy(dev_env.client, **args)
        assert fourth.already_running == 1
        await handle.terminate("test over")
        assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    engine.dispose()


def _new_version(factory, policy_key):
    """Add version 2 of the policy with the same task, as a changed import would."""
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
                is_task=True,
                deadlines=old.deadlines,
            )
        )
        policy.current_version = 2
