"""assignment.pending_start

Revision ID: 6e1f3a5c7b29
Revises: 8a2c4e6f1b35
Create Date: 2026-12-02 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6e1f3a5c7b29"
down_revision: str | None = "8a2c4e6f1b35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Mark assignments whose workflow start is not yet confirmed (existing rows: started)."""
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pending_start", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Drop the marker column."""
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_column("pending_start")
