"""Bare Temporal workflows: the baselines duban's own workflows are measured against."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from bench.bare_messages import BareInput, BareParentInput

__all__ = ["BareInput", "BareParentInput", "BareParentWorkflow", "BareWorkflow", "bare_write"]

BARE_WRITE = "bare_write"


@activity.defn(name=BARE_WRITE)
async def bare_write(key: str) -> str:
    """Write nothing: the scheduled activity a durable bare Update waits for."""
    return key


@workflow.defn
class BareWorkflow:
    """Starts, then waits for `expect` signals or updates; no activities, no state beyond a count."""

    def __init__(self) -> None:
        self.seen = 0

    @workflow.run
    async def run(self, params: BareInput) -> int:
        """Wait until enough messages arrived and return their count."""
        await workflow.wait_condition(lambda: self.seen >= params.expect)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.seen

    @workflow.signal
    def poke(self, key: str) -> None:
        """Count one signal."""
        self.seen += 1

    @workflow.update
    def bump(self, key: str) -> int:
        """Count one update and return the count."""
        self.seen += 1
        return self.seen

    @workflow.update
    async def bump_durable(self, key: str) -> int:
        """Count one update after a scheduled activity: the server stores the acceptance before
        the activity runs, the shape of duban's first write (docs/DESIGN.md)."""
        await workflow.execute_activity(
            BARE_WRITE, key, result_type=str, start_to_close_timeout=timedelta(seconds=30)
        )
        self.seen += 1
        return self.seen


@workflow.defn
class BareParentWorkflow:
    """Start `n` bare children at once, like a PolicyTaskWorkflow, then wait for them."""

    @workflow.run
    async def run(self, params: BareParentInput) -> int:
        """Start the children together (one workflow task) and return how many completed."""
        handles = await asyncio.gather(
            *(
                workflow.start_child_workflow(
                    BareWorkflow.run, BareInput(1), id=f"{params.prefix}:{i}"
                )
                for i in range(params.n)
            )
        )
        await asyncio.gather(*handles)
        return len(handles)
