"""duban.rules: the one statement of each rule, and the workflow validators agreeing with it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from duban.domain import AssignmentState
from duban.messages import ACTION_TEXTS, action_text
from duban.rules import action_flags, rating_refusal
from workflows.assignment_messages import AssignmentCarry, ReviewInput, SubmitInput
from workflows.assignment_rules import check_extension_request, check_review, check_submit

NOW = datetime(2026, 12, 2, tzinfo=UTC)
OPEN_STATES = [s for s in AssignmentState if s != AssignmentState.COMPLETED]


def _allowed(check, carry, inp) -> bool:
    try:
        check(carry, inp, NOW)
    except ApplicationError:
        return False
    return True


@pytest.mark.parametrize("state", OPEN_STATES)
def test_page_flags_and_workflow_validators_agree(state):
    carry = AssignmentCarry(state=state.value, period_begun=True)
    flags = action_flags(state.value)
    report = SubmitInput("k", 1, "张三", "进展")
    assert flags.can_submit == _allowed(check_submit, carry, report)
    ask = type("Ask", (), {"requested_due_at": datetime(2027, 6, 1, tzinfo=UTC), "reason": "r"})
    assert flags.can_request_extension == _allowed(check_extension_request, carry, ask)


def test_no_report_before_acknowledge():
    assert not action_flags("assigned").can_submit
    assert action_flags("assigned").can_acknowledge
    assert action_flags("returned").can_submit and not action_flags("submitted").can_submit


@pytest.mark.parametrize("rating", [None, 0, 1, 5, 6])
def test_rating_range_is_one_rule(rating):
    carry = AssignmentCarry(state="submitted", period_begun=True)
    verdict = ReviewInput("k", 1, "督查室", "approve", rating)
    assert (rating_refusal(rating) is None) == _allowed(check_review, carry, verdict)


def test_carried_keys_are_bounded_across_continue_as_new():
    """A five-year assignment does not carry every update key it ever saw into the next run."""
    from workflows.assignment_messages import ActionResult
    from workflows.assignment_rules import CARRIED_KEYS, bound_carry

    carry = AssignmentCarry(period_index=20, period_begun=False)
    for n in range(CARRIED_KEYS * 3):
        carry.results[f"k{n}"] = ActionResult(f"k{n}", "approved", n // 30, None, "已审核通过")
    carry.co_reported = ["3:czt", "19:czt", "20:czt", "21:czt"]
    bound_carry(carry)
    assert len(carry.results) == CARRIED_KEYS
    assert f"k{CARRIED_KEYS * 3 - 1}" in carry.results and "k0" not in carry.results
    assert carry.co_reported == ["20:czt", "21:czt"]


@pytest.mark.parametrize("days", [-1, 0, 5, 40])
def test_extension_date_is_one_rule(days):
    """The page and API's early answer and the workflow validator apply the same date rule."""
    from datetime import timedelta

    from duban.rules import extension_date_refusal

    due = NOW + timedelta(days=10)
    carry = AssignmentCarry(state="in_progress", period_begun=True, due_at=due)
    requested = NOW + timedelta(days=days)
    ask = type("Ask", (), {"requested_due_at": requested, "reason": "资金未到位"})
    expected = extension_date_refusal(requested, now=NOW, due_at=due) is None
    assert expected == _allowed(check_extension_request, carry, ask) == (days == 40)


def test_every_update_answer_the_workflow_gives_has_its_text() -> None:
    """The workflow answers with codes; each one it can give renders, and a result carried from
    a run before codes keeps its own text."""
    source = (Path(__file__).resolve().parents[2] / "workflows" / "assignment.py").read_text()
    answers = re.findall(r"self\._done\(inp\.key, ([^)]*)\)|code=(\"[a-z_]+\")", source)
    codes = {code for parts in answers for code in re.findall(r'"([a-z_]+)"', "".join(parts))}
    assert len(codes) >= 10
    assert not codes - ACTION_TEXTS.keys(), codes - ACTION_TEXTS.keys()
    assert action_text("approved") == "已审核通过"
    assert action_text("", "已审核通过") == "已审核通过"
