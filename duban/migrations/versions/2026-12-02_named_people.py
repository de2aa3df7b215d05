"""named people: assignee, conversation, leaders' remit, head sign-off switch

Revision ID: 3d7b9f2a4c61
Revises: 6a1c9e3b7d24
Create Date: 2026-12-02 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from duban.db import UTCDateTime

revision: str = "3d7b9f2a4c61"
down_revision: str | None = "6a1c9e3b7d24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the assignee, the conversation, the leaders' departments and the sign-off switch."""
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_assignment_assignee_id_user_account"),
            "user_account",
            ["assignee_id"],
            ["id"],
        )
    with op.batch_alter_table("policy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("head_sign_off", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "assignment_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("mentioned_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignment.id"],
            name=op.f("fk_assignment_message_assignment_id_assignment"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_assignment_message_author_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_message")),
    )
    op.create_index(
        op.f("ix_assignment_message_assignment_id"),
        "assignment_message",
        ["assignment_id"],
        unique=False,
    )
    op.create_table(
        "leader_department",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_leader_department_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_leader_department_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("user_id", "department_id", name=op.f("pk_leader_department")),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("leader_department")
    op.drop_index(op.f("ix_assignment_message_assignment_id"), table_name="assignment_message")
    op.drop_table("assignment_message")
    with op.batch_alter_table("policy", schema=None) as batch_op:
        batch_op.drop_column("head_sign_off")
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_assignment_assignee_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("assignee_id")
