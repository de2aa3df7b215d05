"""Indexes the pages need at 100,000 assignments

Revision ID: 7c3e9a1d5f42
Revises: 5c1e7a9d2b44
Create Date: 2026-12-02 06:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7c3e9a1d5f42"
down_revision: str | None = "5c1e7a9d2b44"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A department's inbox, a period's submissions, the review queue, an assignment's extensions."""
    op.create_index("ix_assignment_department_id", "assignment", ["department_id"])
    op.create_index("ix_submission_assignment_id", "submission", ["assignment_id", "period_index"])
    op.create_index("ix_submission_state", "submission", ["state"])
    op.create_index("ix_extension_assignment_id", "extension", ["assignment_id"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_extension_assignment_id", table_name="extension")
    op.drop_index("ix_submission_state", table_name="submission")
    op.drop_index("ix_submission_assignment_id", table_name="submission")
    op.drop_index("ix_assignment_department_id", table_name="assignment")
