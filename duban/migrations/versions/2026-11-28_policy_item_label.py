"""policy item label: the numbering as written (（五）, 1.), beside the unique ordinal

Revision ID: 7c3e91a0b2d4
Revises: 5b1d0e7a9c21
Create Date: 2026-11-28 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3e91a0b2d4"
down_revision: str | None = "5b1d0e7a9c21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("policy_item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("label", sa.String(length=32), nullable=False, server_default="")
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("policy_item", schema=None) as batch_op:
        batch_op.drop_column("label")
