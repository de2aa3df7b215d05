"""assignment.removed_in_version

Revision ID: 5b1d0e7a9c21
Revises: 22c08bce4de9
Create Date: 2026-11-28 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1d0e7a9c21"
down_revision: str | None = "22c08bce4de9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Mark assignments that a later policy version no longer lists."""
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("removed_in_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop the marker column."""
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_column("removed_in_version")
