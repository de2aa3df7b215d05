"""notice codes: a workflow's notification stores a message code and its parameters

Revision ID: 5c1e9a7d3b24
Revises: 3f8b2d6c1a90
Create Date: 2026-12-02 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1e9a7d3b24"
down_revision: str | None = "3f8b2d6c1a90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the code and parameters a notification's text is rendered from (old rows keep text)."""
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("code", sa.String(length=48), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop the code and parameters (coded rows lose their text)."""
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_column("params")
        batch_op.drop_column("code")
