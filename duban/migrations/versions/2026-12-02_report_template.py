"""report_template: a task's report form and required evidence kinds; submission answers

Revision ID: 5c1e7a9d2b44
Revises: 5c2e8a1f4b73
Create Date: 2026-12-02 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import duban.db

revision: str = "5c1e7a9d2b44"
down_revision: str | None = "5c2e8a1f4b73"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the report_template table and submission.answers."""
    op.create_table(
        "report_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("item_number", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("evidence_kinds", sa.JSON(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", duban.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policy.id"], name=op.f("fk_report_template_policy_id_policy")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["user_account.id"],
            name=op.f("fk_report_template_updated_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_template")),
        sa.UniqueConstraint(
            "policy_id", "item_number", name=op.f("uq_report_template_policy_id_item_number")
        ),
    )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answers", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop submission.answers and the report_template table."""
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_column("answers")
    op.drop_table("report_template")
