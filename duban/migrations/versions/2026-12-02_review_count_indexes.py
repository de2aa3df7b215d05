"""review queue count: partial indexes over pending submissions and submitted assignments

Revision ID: 6e2b8d4a1f37
Revises: 3a7c5e1d9b62
Create Date: 2026-12-02 15:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6e2b8d4a1f37"
down_revision: str | None = "3a7c5e1d9b62"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The board counts the review queue on every request: at 100,000 assignments with 10,000
    # awaiting review a hash join read every pending submission's row (~10 ms); over these two
    # the count is a merge of two index-only scans (~1.5 ms once vacuumed).
    op.create_index(
        "ix_submission_pending",
        "submission",
        ["assignment_id", "period_index"],
        postgresql_where=sa.text("state = 'submitted'"),
        sqlite_where=sa.text("state = 'submitted'"),
    )
    op.create_index(
        "ix_assignment_submitted",
        "assignment",
        ["id", "period_index"],
        postgresql_where=sa.text("state = 'submitted' AND pending_start IS false"),
        sqlite_where=sa.text("state = 'submitted' AND pending_start IS 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_assignment_submitted", table_name="assignment")
    op.drop_index("ix_submission_pending", table_name="submission")
