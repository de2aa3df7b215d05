"""Indexes of the board, the review queue and the escalation inbox in SQL windows

Revision ID: b7d4e2a91c63
Revises: 5c2e9a7d3b18
Create Date: 2026-12-02 10:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b7d4e2a91c63"
down_revision: str | None = "5c2e9a7d3b18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The queues in their order (review, extensions, ladder), the assignments by state, and
    the distinct due times of the period filter (read by a loose index scan)."""
    op.create_index(
        "ix_submission_state_submitted_at", "submission", ["state", "submitted_at", "id"]
    )
    op.create_index("ix_extension_state_requested_at", "extension", ["state", "requested_at", "id"])
    op.create_index("ix_escalation_level_reached_at", "escalation", ["level", "reached_at", "id"])
    op.create_index("ix_assignment_state", "assignment", ["state"])
    op.create_index(
        "ix_assignment_period_historic_original_due_at",
        "assignment_period",
        ["historic", "original_due_at"],
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_assignment_period_historic_original_due_at", table_name="assignment_period")
    op.drop_index("ix_assignment_state", table_name="assignment")
    op.drop_index("ix_escalation_level_reached_at", table_name="escalation")
    op.drop_index("ix_extension_state_requested_at", table_name="extension")
    op.drop_index("ix_submission_state_submitted_at", table_name="submission")
