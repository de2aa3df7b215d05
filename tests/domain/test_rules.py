"""duban.rules: the one statement of each rule, and the workflow validators agreeing with it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from temporalio.exceptions import ApplicationError

from duban.domain import AssignmentState
from duban.rules import action_flags, rating_refusal
from workflows.assignment_messages import AssignmentCarry, ReviewInput, SubmitInput
from workflows.assignment_rules import check_extension_request, check_review, check_submit

NOW = datetime(2026, 12, 2, tzinfo=UTC)
OPEN_STATES = [s for s in AssignmentState if s != AssignmentState.COMPLETED]


def _allowed(check, carry, inp) -> bool:  # type: ignore[no-untyped-def]
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
