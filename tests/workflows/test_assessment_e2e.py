"""End to end on the time-skipping server: real workflows record, the assessment scores from the read model."""

from __future__ import annotations

import uuid
from datetime import timedelta

from duban.services.assessment import current_quarter, load_outcomes, scores
from policies.rubric import load_rubric
from tests.workflows.conftest import assert_eventually, duban_worker
from tests.workflows.seed import DAY, Seeded, assignment_input, code_of, quarterly, seed
from workflows.assignment import (
    ActionInput,
    AssignmentWorkflow,
    ReviewInput,
    SubmitInput,
)

HOUR = timedelta(hours=1)


async def _deliver(client, seeded: Seeded, rating: int):
    """Acknowledge, submit and approve the seeded assignment through its Updates."""
    handle = client.get_workflow_handle_for(AssignmentWorkflow.run, seeded.workflow_id("fpb"))
    staff, sup = seeded.users["fpb-staff"], seeded.users["supervisor"]
    tag = uuid.uuid4().hex[:6]
    await handle.execute_update(
        AssignmentWorkflow.acknowledge, ActionInput(f"ack-{tag}", staff, "承办人"), id=f"ack-{tag}"
    )
    sub = SubmitInput(f"sub-{tag}", staff, "承办人", "已完成本期任务", [])
    await handle.execute_update(AssignmentWorkflow.submit, sub, id=sub.key)
    review = ReviewInput(f"rev-{tag}", sup, "督查室", "approve", rating, "同意", None)
    await handle.execute_update(AssignmentWorkflow.review, review, id=review.key)
    return handle


async def test_on_time_department_outscores_the_escalated_one(time_env, session_factory):
    now = await time_env.get_current_time()
    periods = quarterly(now, count=1)
    good, late = seed(session_factory), seed(session_factory)
    worker = duban_worker(time_env.client, session_factory)
    async with worker:
        for seeded in (good, late):
            await time_env.client.start_workflow(
                AssignmentWorkflow.run,
                assignment_input(seeded, "fpb", periods),
                id=seeded.workflow_id("fpb"),
                task_queue=worker.task_queue,
            )
        done_good = await _deliver(time_env.client, good, 5)
        await time_env.sleep(90 * DAY + 7 * DAY + 12 * HOUR)  # due passed; ladder at +1d, +7d
        late_handle = time_env.client.get_workflow_handle_for(
            AssignmentWorkflow.run, late.workflow_id("fpb")
        )

        async def at_level_2():
            assert (await late_handle.query(AssignmentWorkflow.state)).escalation_level == 2

        await assert_eventually(at_level_2)
        done_late = await _deliver(time_env.client, late, 3)
        assert (await done_good.result()).completed and (await done_late.result()).completed
    as_of = await time_env.get_current_time()
    period = current_quarter(periods[0].due_at)
    with session_factory() as s:
        rows = scores(session=s, rubric=load_rubric(), period=period, by="department", as_of=as_of)
        outcomes = load_outcomes(session=s, as_of=as_of, period=period)
    by_code = {r.key: r for r in rows}
    g, lt = by_code[code_of(good, "fpb")], by_code[code_of(late, "fpb")]
    assert (g.rank, lt.rank) == (1, 2) and g.score > lt.score
    assert g.score == 12.0  # approved (10) + five stars (2)
    # 8 days late (-4), rungs 1 and 2 (-3), three stars (0), approved (+10)
    assert lt.score == 3.0
    [late_outcome] = [o for o in outcomes if o.department_code == code_of(late, "fpb")]
    assert late_outcome.escalation_levels == (1, 2) and late_outcome.rating == 3
    assert late_outcome.official == f"fpb-head-{late.policy_key}"
    assert late_outcome.events_by_rule is not None
    assert len(late_outcome.events_by_rule["escalation"]) == 2
