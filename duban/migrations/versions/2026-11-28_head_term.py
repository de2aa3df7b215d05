"""head_term: who headed a department when (existing active heads start at their account's creation)

Revision ID: 3f6d2b8e4a17
Revises: 9e4a6c2f1d08
Create Date: 2026-11-28 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import duban.db

revision: str = "3f6d2b8e4a17"
down_revision: str | None = "9e4a6c2f1d08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "head_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("started_at", duban.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", duban.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_head_term_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_head_term_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_head_term")),
    )
    with op.batch_alter_table("head_term", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_head_term_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_head_term_user_id"), ["user_id"], unique=False)
    op.execute(
        "INSERT INTO head_term (department_id, user_id, started_at) "
        "SELECT department_id, id, created_at FROM user_account "
        "WHERE role = 'head' AND is_active AND department_id IS NOT NULL"
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("head_term", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_head_term_user_id"))
        batch_op.drop_index(batch_op.f("ix_head_term_department_id"))
    op.drop_table("head_term")
