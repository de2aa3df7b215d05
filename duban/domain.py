"""Stdlib-only enums, value types and workflow-id builders, safe inside the workflow sandbox."""

from __future__ import annotations

from enum import StrEnum


class UserRole(StrEnum):
    """Who a user is (DESIGN.md, "Who uses it")."""

    STAFF = "staff"
    HEAD = "head"
    SUPERVISOR = "supervisor"
    ASSESSOR = "assessor"
    LEADER = "leader"
    ADMIN = "admin"


DEPARTMENT_ROLES = frozenset({UserRole.STAFF, UserRole.HEAD})


class AssignmentRole(StrEnum):
    """A department's part in a task: 牵头 (lead) or 配合 (co)."""

    LEAD = "lead"
    CO = "co"


class AssignmentState(StrEnum):
    """Where an assignment's current period stands."""

    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    # A member's report waits for the department head's sign-off (policy switch `head_sign_off`).
    HEAD_REVIEW = "head_review"
    RETURNED = "returned"
    APPROVED = "approved"
    COMPLETED = "completed"


class ReviewDecision(StrEnum):
    """A supervisor's verdict on a submission."""

    APPROVE = "approve"
    RETURN = "return"


class ExtensionState(StrEnum):
    """An extension request's lifecycle."""

    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"


ESCALATION_LEVEL_NAMES = {1: "department_head", 2: "supervisor", 3: "leadership"}


def task_workflow_id(policy: str, item: int) -> str:
    """Return the id of the PolicyTaskWorkflow of one numbered item."""
    return f"task:{policy}:{item}"


def assignment_workflow_id(policy: str, item: int, department: str) -> str:
    """Return the id of the AssignmentWorkflow of one item x department."""
    return f"assignment:{policy}:{item}:{department}"
