"""task_target: the targets (指标) of a task; target_actual: the actuals a submission reports

Revision ID: 5c2e8a1f4b73
Revises: 8d2e5f7a9c31
Create Date: 2026-12-02 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c2e8a1f4b73"
down_revision: str | None = "8d2e5f7a9c31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the task_target and target_actual tables."""
    op.create_table(
        "task_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=True),
        sa.Column("deadline_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["policy_item.id"], name=op.f("fk_task_target_item_id_policy_item")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_target")),
        sa.UniqueConstraint("item_id", "position", name=op.f("uq_task_target_item_id_position")),
    )
    with op.batch_alter_table("task_target", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_target_item_id"), ["item_id"], unique=False)
    op.create_table(
        "target_actual",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_target_actual_submission_id_submission"),
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["task_target.id"], name=op.f("fk_target_actual_target_id_task_target")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_actual")),
        sa.UniqueConstraint(
            "submission_id", "target_id", name=op.f("uq_target_actual_submission_id_target_id")
        ),
    )
    with op.batch_alter_table("target_actual", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_target_actual_submission_id"), ["submission_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_target_actual_target_id"), ["target_id"], unique=False)


def downgrade() -> None:
    """Drop the target_actual and task_target tables."""
    with op.batch_alter_table("target_actual", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_target_actual_target_id"))
        batch_op.drop_index(batch_op.f("ix_target_actual_submission_id"))
    op.drop_table("target_actual")
    with op.batch_alter_table("task_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_target_item_id"))
    op.drop_table("task_target")
