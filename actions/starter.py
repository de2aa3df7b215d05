"""Start (or revise) the task workflows of an imported policy from the read model."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from duban.domain import AssignmentRole, task_workflow_id
from duban.errors import NotFound
from duban.models import Assignment, Policy, PolicyItem, PolicyVersion
from duban.schedule import DEFAULT_REMINDERS, LOCAL_TZ, parse_offsets, plan_periods
from duban.services.draft_cadence import version_cadence
from duban.services.policy import SEE_PENDING, mark_started
from duban.settings import Settings
from workflows.assignment import AssignmentInput, PeriodSpec
from workflows.policy_task import PolicyRevisionInput, PolicyTaskInput, PolicyTaskWorkflow

MEMO_VERSION = "policy_version"
# Task starts in flight at once: one round trip each, so a 200-task policy is not 200 in a row.
START_CONCURRENCY = 16


@dataclass(frozen=True)
class StartReport:
    """What starting a policy did: new tasks, tasks already running, tasks told of a new version."""

    started: int = 0
    already_running: int = 0
    signalled: int = 0


@dataclass(frozen=True)
class Offsets:
    """The reminder and escalation offsets every assignment of a run gets."""

    reminders: list[timedelta]
    ladder: list[timedelta]


def build_task_inputs(
    session: Session, policy_key: str, offsets: Offsets, cadence: str | None = None
) -> list[PolicyTaskInput]:
    """Read a policy's current version and assignments and build one input per task."""
    policy = session.scalar(select(Policy).where(Policy.key == policy_key))
    if policy is None:
        raise NotFound(f"政策 {policy_key} 不存在")
    version = session.scalars(
        select(PolicyVersion).where(
            PolicyVersion.policy_id == policy.id, PolicyVersion.version == policy.current_version
        )
    ).one()
    items = {
        i.number: i
        for i in session.scalars(
            select(PolicyItem).where(PolicyItem.version_id == version.id, PolicyItem.is_task)
        )
    }
    by_item: dict[int, list[Assignment]] = defaultdict(list)
    for a in session.scalars(
        select(Assignment)
        .execution_options(**{SEE_PENDING: True})
        .where(
            Assignment.policy_id == policy.id,
            Assignment.removed_in_version.is_(None),
            Assignment.parent_id.is_(None),  # sub-assignments run on their own (actions/cascade)
        )
        .order_by(Assignment.item_number, Assignment.id)
    ):
        if a.item_number in items:
            by_item[a.item_number].append(a)
    start = policy.created_at.astimezone(LOCAL_TZ).date()
    parsed = version.parsed or {}
    horizon = date.fromisoformat(parsed["horizon"]) if parsed.get("horizon") else None
    return [
        _task_input(
            policy,
            version.version,
            items[n],
            rows,
            offsets,
            start,
            horizon,
            version_cadence(parsed, n, cadence),  # the task's own cadence, else the document's
        )
        for n, rows in sorted(by_item.items())
    ]


def _task_input(
    policy: Policy,
    version: int,
    item: PolicyItem,
    rows: list[Assignment],
    offsets: Offsets,
    start: date,
    horizon: date | None,
    cadence: str,
) -> PolicyTaskInput:
    deadlines = [(d["text"], date.fromisoformat(d["date"])) for d in item.deadlines or []]
    planned = plan_periods(start=start, horizon=horizon, deadlines=deadlines, cadence=cadence)
    periods = [PeriodSpec(p.index, p.due_at, p.label, p.source, p.historic) for p in planned]
    lead = next((a for a in rows if a.role == AssignmentRole.LEAD), rows[0])
    assignments = [
        AssignmentInput(
            policy_key=policy.key,
            item_number=item.number,
            department_code=a.department.code,
            assignment_id=a.id,
            role=a.role,
            periods=periods,
            reminder_offsets=offsets.reminders,
            escalation_offsets=offsets.ladder,
            co_department_codes=[b.department.code for b in rows if b is not a]
            if a is lead
            else [],
            policy_version=version,
            lead_department_code="" if a is lead else lead.department.code,
        )
        for a in rows
    ]
    return PolicyTaskInput(policy.key, item.number, item.title, version, assignments)


def settings_offsets(settings: Settings) -> Offsets:
    """Parse the configured reminder and escalation offsets (ISO 8601)."""
    return Offsets(
        reminders=parse_offsets(settings.reminder_offsets, DEFAULT_REMINDERS),
        ladder=parse_offsets(settings.escalation_offsets),
    )


async def start_policy(
    client: Client,
    *,
    session_factory: sessionmaker[Session],
    settings: Settings,
    policy_key: str,
    cadence: str | None = None,
) -> StartReport:
    """Start every task workflow of the policy; running ones of an older version get `revise`."""
    with session_factory() as session:
        tasks = build_task_inputs(session, policy_key, settings_offsets(settings), cadence)
    gate = asyncio.Semaphore(START_CONCURRENCY)
    confirmed: list[int] = []

    async def one(task: PolicyTaskInput) -> str:
        async with gate:
            outcome = await _start_task(client, settings.task_queue, task)
        confirmed.append(task.item_number)
        return outcome

    try:
        outcomes = await asyncio.gather(*(one(task) for task in tasks))
    finally:
        # Whatever was confirmed becomes visible, even when a later start failed.
        await asyncio.to_thread(_mark_started, session_factory, policy_key, list(confirmed))
    with session_factory() as session:
        version, dropped = dropped_tasks(session, policy_key, {t.item_number for t in tasks})
    for item_number in dropped:
        outcomes.append(await _withdraw_task(client, policy_key, item_number, version))
    return StartReport(
        started=outcomes.count("started"),
        already_running=outcomes.count("running"),
        signalled=outcomes.count("signalled"),
    )


def _mark_started(
    session_factory: sessionmaker[Session], policy_key: str, item_numbers: list[int]
) -> None:
    with session_factory.begin() as session:
        mark_started(session=session, policy_key=policy_key, item_numbers=item_numbers)


def dropped_tasks(session: Session, policy_key: str, kept: set[int]) -> tuple[int, list[int]]:
    """Return the current version and the item numbers of the tasks it no longer has."""
    policy = session.scalars(select(Policy).where(Policy.key == policy_key)).one()
    items = session.scalars(
        select(Assignment.item_number)
        .where(Assignment.policy_id == policy.id)
        .distinct()
        .execution_options(**{SEE_PENDING: True})
    )
    return policy.current_version, sorted(set(items) - kept)


async def _withdraw_task(client: Client, policy_key: str, item_number: int, version: int) -> str:
    """Tell a task's running workflow that the new version dropped it: its assignments end."""
    handle: WorkflowHandle[PolicyTaskWorkflow, object] = client.get_workflow_handle_for(
        PolicyTaskWorkflow.run, task_workflow_id(policy_key, item_number)
    )
    try:
        desc = await handle.describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return "running"  # never started: nothing to end
        raise
    task = PolicyTaskInput(policy_key, item_number, "", version, [])
    return await _revise_if_older(handle, task, desc, withdrawn=True)


async def _start_task(client: Client, task_queue: str, task: PolicyTaskInput) -> str:
    wf_id = task_workflow_id(task.policy_key, task.item_number)
    try:
        await client.start_workflow(
            PolicyTaskWorkflow.run,
            task,
            id=wf_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={MEMO_VERSION: task.policy_version},
        )
        return "started"
    except WorkflowAlreadyStartedError:
        handle: WorkflowHandle[PolicyTaskWorkflow, object] = client.get_workflow_handle_for(
            PolicyTaskWorkflow.run, wf_id
        )
        return await _revise_if_older(handle, task)


async def _revise_if_older(
    handle: WorkflowHandle[PolicyTaskWorkflow, object],
    task: PolicyTaskInput,
    desc: WorkflowExecutionDescription | None = None,
    *,
    withdrawn: bool = False,
) -> str:
    desc = desc or await handle.describe()
    if desc.status != WorkflowExecutionStatus.RUNNING:
        return "running"
    running_version = await desc.memo_value(MEMO_VERSION, 0, type_hint=int)
    if running_version >= task.policy_version:
        return "running"
    revision = PolicyRevisionInput(task.policy_version, task.title, task.assignments, withdrawn)
    await handle.signal(PolicyTaskWorkflow.revise, revision)
    return "signalled"
