"""policy_draft

Revision ID: 7a2c9e41d5b8
Revises: 6e1f3a5c7b29
Create Date: 2026-12-02 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import duban.db

revision: str = "7a2c9e41d5b8"
down_revision: str | None = "6e1f3a5c7b29"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Keep uploaded documents as drafts with their corrections and change log until 交办."""
    op.create_table(
        "policy_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("parsed", sa.JSON(), nullable=False),
        sa.Column("corrected", sa.JSON(), nullable=False),
        sa.Column("cadence", sa.String(length=16), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("policy_key", sa.String(length=100), nullable=True),
        sa.Column("base_policy_id", sa.Integer(), nullable=True),
        sa.Column("published_policy_id", sa.Integer(), nullable=True),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", duban.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", duban.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", duban.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["base_policy_id"], ["policy.id"], name=op.f("fk_policy_draft_base_policy_id_policy")
        ),
        sa.ForeignKeyConstraint(
            ["published_policy_id"],
            ["policy.id"],
            name=op.f("fk_policy_draft_published_policy_id_policy"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_policy_draft_created_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_draft")),
    )
    with op.batch_alter_table("policy_draft", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_draft_status"), ["status"], unique=False)
    op.create_table(
        "policy_draft_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=100), nullable=False),
        sa.Column("at", duban.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["policy_draft.id"],
            name=op.f("fk_policy_draft_change_draft_id_policy_draft"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
            name=op.f("fk_policy_draft_change_actor_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_draft_change")),
    )
    with op.batch_alter_table("policy_draft_change", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_policy_draft_change_draft_id"), ["draft_id"], unique=False
        )


def downgrade() -> None:
    """Drop both tables."""
    with op.batch_alter_table("policy_draft_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_draft_change_draft_id"))
    op.drop_table("policy_draft_change")
    with op.batch_alter_table("policy_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_draft_status"))
    op.drop_table("policy_draft")
