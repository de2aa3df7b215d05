"""PolicyTaskWorkflow: one numbered task, a child AssignmentWorkflow per responsible department."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import TemporalError
from temporalio.workflow import ChildWorkflowHandle

from workflows.assignment import (
    AssignmentInput,
    AssignmentRevision,
    AssignmentStatus,
    AssignmentWorkflow,
)

with workflow.unsafe.imports_passed_through():
    from duban.domain import AssignmentRole, assignment_workflow_id

# Revisions wait in a queue that the run applies between batches of child starts, so none can
# miss a child still being started or leave a queued start on the older version.
QUEUED_REVISIONS = "2026-12-01-queued-revisions"


@dataclass(frozen=True)
class PolicyTaskInput:
    """One task of a policy version and its assignments."""

    policy_key: str
    item_number: int
    title: str
    policy_version: int
    assignments: list[AssignmentInput]


@dataclass(frozen=True)
class PolicyRevisionInput:
    """A newer version of the policy: new departments get assignments, running ones are told."""

    policy_version: int
    title: str = ""
    assignments: list[AssignmentInput] = field(default_factory=list)
    # The new version no longer has this task (or names no department for it).
    withdrawn: bool = False


@dataclass(frozen=True)
class PolicyTaskStatus:
    """The Query result: version and how many assignments have completed."""

    policy_version: int
    title: str
    departments: list[str]
    completed: list[str]


@workflow.defn
class PolicyTaskWorkflow:
    """Start an AssignmentWorkflow per department and complete when all have."""

    @workflow.init
    def __init__(self, inp: PolicyTaskInput) -> None:
        self.version = inp.policy_version
        self.title = inp.title
        self.pending: list[AssignmentInput] = list(inp.assignments)
        self.children: dict[str, ChildWorkflowHandle[AssignmentWorkflow, AssignmentStatus]] = {}
        self.revisions: list[PolicyRevisionInput] = []

    @workflow.run
    async def run(self, inp: PolicyTaskInput) -> PolicyTaskStatus:
        """Start children (leads first, so co-organizers can report to them) and wait for all."""
        while True:
            while self.revisions:
                await self._adopt(self.revisions.pop(0), replace_pending=True)
            await self._start_pending()
            await workflow.wait_condition(
                lambda: bool(self.pending or self.revisions) or self._all_done()
            )
            if not (self.pending or self.revisions) and self._all_done():
                break
        for code, handle in self.children.items():
            try:
                await handle
            except TemporalError:
                workflow.logger.warning("assignment %s of task %s failed", code, inp.item_number)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status()

    def _all_done(self) -> bool:
        return all(h.done() for h in self.children.values())

    async def _start_pending(self) -> None:
        """Start the pending children together: one workflow task, not one per child."""
        batch, self.pending = self.pending, []
        batch.sort(key=lambda a: a.role != AssignmentRole.LEAD)
        fresh: dict[str, AssignmentInput] = {}
        for a in batch:
            if a.department_code not in self.children:
                fresh.setdefault(a.department_code, a)
        await asyncio.gather(*(self._start_child(a) for a in fresh.values()))

    async def _start_child(self, assignment: AssignmentInput) -> None:
        # Registered once started: the run adopts a revision only after the whole batch is.
        code = assignment.department_code
        wf_id = assignment_workflow_id(assignment.policy_key, assignment.item_number, code)
        self.children[code] = await workflow.start_child_workflow(
            AssignmentWorkflow.run, assignment, id=wf_id
        )

    @workflow.signal
    async def revise(self, inp: PolicyRevisionInput) -> None:
        """Take a newer policy version; the run adopts it between batches of child starts."""
        if workflow.patched(QUEUED_REVISIONS):
            self.revisions.append(inp)
        else:  # runs recorded before the queue adopted it at once, here
            await self._adopt(inp, replace_pending=False)

    async def _adopt(self, inp: PolicyRevisionInput, *, replace_pending: bool) -> None:
        """Adopt a newer version: tell running assignments, start new ones, skip unstarted old ones.

        A revision lists every assignment of the task, so it replaces what is still waiting to
        be started (`replace_pending`); runs recorded before that added to it instead.
        """
        if inp.policy_version <= self.version:
            return
        self.version = inp.policy_version
        self.title = inp.title or self.title
        if replace_pending:
            self.pending = list(inp.assignments)
        else:
            self.pending.extend(inp.assignments)
        workflow.upsert_memo({"policy_version": self.version})
        listed = {a.department_code: a for a in inp.assignments}
        for code, handle in list(self.children.items()):
            if handle.done():
                continue
            # A revision lists every assignment of the task; a department it leaves out is done.
            a = listed.get(code)
            withdrawn = inp.withdrawn or (bool(listed) and a is None)
            revision = (
                AssignmentRevision(
                    self.version,
                    a.periods,
                    role=a.role,
                    co_department_codes=a.co_department_codes,
                    lead_department_code=a.lead_department_code,
                )
                if a is not None
                else AssignmentRevision(self.version, withdrawn=withdrawn)
            )
            try:
                await handle.signal(AssignmentWorkflow.revise, revision)
            except TemporalError:
                workflow.logger.warning("assignment %s did not take the revision", code)

    @workflow.query
    def status(self) -> PolicyTaskStatus:
        """Return the version and which departments have completed."""
        return PolicyTaskStatus(
            policy_version=self.version,
            title=self.title,
            departments=sorted(self.children),
            completed=sorted(code for code, h in self.children.items() if h.done()),
        )
