"""cascade: the organisation tree and sub-assignments (issue 15, 层层分解)

Revision ID: 5c2e9a7d3b18
Revises: 7c3e9a1d5f42
Create Date: 2026-12-02 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import duban.db

revision: str = "5c2e9a7d3b18"
down_revision: str | None = "7c3e9a1d5f42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Give departments a parent, kind and level; assignments a parent, share and waiver."""
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("level", sa.String(length=16), server_default="", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_department_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_department_parent_id_department"), "department", ["parent_id"], ["id"]
        )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("target_share", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("cascade_waived_at", duban.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("cascade_waived_by_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_assignment_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_assignment_parent_id_assignment"), "assignment", ["parent_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_assignment_cascade_waived_by_id_user_account"),
            "user_account",
            ["cascade_waived_by_id"],
            ["id"],
        )


def downgrade() -> None:
    """Drop the tree and the sub-assignment columns."""
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_assignment_cascade_waived_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_assignment_parent_id_assignment"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_assignment_parent_id"))
        batch_op.drop_column("cascade_waived_by_id")
        batch_op.drop_column("cascade_waived_at")
        batch_op.drop_column("target_share")
        batch_op.drop_column("parent_id")
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_department_parent_id_department"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_department_parent_id"))
        batch_op.drop_column("level")
        batch_op.drop_column("kind")
        batch_op.drop_column("parent_id")
