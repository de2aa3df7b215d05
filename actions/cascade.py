"""转办/分解: split an assignment into sub-assignments, each a durable AssignmentWorkflow of its own."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from actions.draft import Intake
from actions.starter import settings_offsets
from duban.db import utcnow
from duban.domain import assignment_workflow_id
from duban.models import User
from duban.services.assignment import visible_assignment
from duban.services.cascade import SubSpec, create_sub_assignment, mark_child_started
from workflows.assignment import AssignmentInput, AssignmentWorkflow, PeriodSpec

PERIOD_LABEL = "分解任务"


@dataclass(frozen=True)
class SplitOutcome:
    """The sub-assignment made and whether its workflow was started now (or was running)."""

    child_id: int
    started: bool


def _create(intake: Intake, parent_id: int, spec: SubSpec, user: User) -> AssignmentInput:
    """Store the sub-assignment (committed, still hidden) and build its workflow's input."""
    offsets = settings_offsets(intake.settings)
    with intake.import_factory.begin() as session:
        actor = session.get_one(User, user.id)
        parent = visible_assignment(session=session, assignment_id=parent_id, user=actor)
        child = create_sub_assignment(
            session=session, parent=parent, spec=spec, user=actor, now=utcnow()
        )
        return AssignmentInput(
            policy_key=parent.policy.key,
            item_number=child.item_number,
            department_code=child.department.code,
            assignment_id=child.id,
            role=child.role,
            periods=[PeriodSpec(0, spec.due_at, PERIOD_LABEL, "deadline", False)],
            reminder_offsets=offsets.reminders,
            escalation_offsets=offsets.ladder,
            policy_version=parent.policy.current_version,
        )


def _started(intake: Intake, child_id: int) -> None:
    with intake.import_factory.begin() as session:
        mark_child_started(session=session, child_id=child_id)


async def _start(client: Client, inp: AssignmentInput, workflow_id: str, queue: str) -> bool:
    try:
        await client.start_workflow(
            AssignmentWorkflow.run,
            inp,
            id=workflow_id,
            task_queue=queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def split(intake: Intake, *, parent_id: int, spec: SubSpec, user: User) -> SplitOutcome:
    """Check, store and start one sub-assignment; Temporal down: 503 before anything is stored."""
    await intake.temporal.get()
    inp = await run_in_threadpool(_create, intake, parent_id, spec, user)
    workflow_id = assignment_workflow_id(inp.policy_key, inp.item_number, inp.department_code)
    started = await intake.temporal.run(
        lambda client: _start(client, inp, workflow_id, intake.settings.task_queue)
    )
    await run_in_threadpool(_started, intake, inp.assignment_id)
    return SplitOutcome(inp.assignment_id, started)
