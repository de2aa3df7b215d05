"""Replay every recorded history against today's workflow code; nondeterminism fails the build."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from actions.temporal import DATA_CONVERTER
from workflows.assignment import AssignmentWorkflow
from workflows.policy_task import PolicyTaskWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_recorded():
    assert {p.stem for p in HISTORIES} >= {
        "assignment_calendar_run1",
        "assignment_calendar_last_run",
        "assignment_calendar_run1_bounded_carry",
        "assignment_calendar_run1_current_run",
        "assignment_calendar_last_run_current_run",
        "assignment_extensions_current_run",
        "assignment_lead_current_run",
        "assignment_revision_current_run",
        "assignment_sign_off_current_run",
        "assignment_withdrawn_current_run",
        "assignment_calendar_last_run_bounded_carry",
        "assignment_extensions",
        "assignment_extensions_local_writes",
        "assignment_extensions_accept_first",
        "assignment_lead",
        "assignment_lead_lead_closes_alone",
        "assignment_revision",
        "assignment_revision_local_writes",
        "assignment_sign_off",
        "assignment_sign_off_accept_first",
        "assignment_withdrawn",
        "assignment_withdrawn_queued",
        "policy_task",
        "policy_task_early_revision",
        "policy_task_lead_closes_alone",
        "policy_task_withdrawal",
        "policy_task_withdrawal_queued",
    }


@pytest.fixture
def history(request: pytest.FixtureRequest) -> WorkflowHistory:
    """The recorded history named by the test's parameter."""
    path: Path = request.param
    data: dict[str, Any] = json.loads(path.read_text())
    return WorkflowHistory.from_json(path.stem, data)


@pytest.mark.parametrize("history", HISTORIES, ids=[p.stem for p in HISTORIES], indirect=True)
async def test_replay(history: WorkflowHistory):
    replayer = Replayer(
        workflows=[AssignmentWorkflow, PolicyTaskWorkflow], data_converter=DATA_CONVERTER
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{history.workflow_id}: {result.replay_failure!r}"
    assert len(history.events) > 10
