"""score table: period facts, their tallies and the watermark (Scores at scale)

Revision ID: 8d4f2b6a1c93
Revises: b7d4e2a91c63
Create Date: 2026-12-02 10:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import duban.db

revision: str = "8d4f2b6a1c93"
down_revision: str | None = "b7d4e2a91c63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _facts() -> list[sa.Column[object]]:
    """The columns a period score and a tally share."""
    return [
        sa.Column("official", sa.String(length=100), nullable=True),
        sa.Column("official_name", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("historic", sa.Boolean(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("late_days", sa.Integer(), nullable=True),
        sa.Column("open_due_at", duban.db.UTCDateTime(), nullable=True),
        sa.Column("levels", sa.String(length=16), nullable=False),
        sa.Column("extensions", sa.Integer(), nullable=False),
        sa.Column("returns", sa.Integer(), nullable=False),
        sa.Column("targets_met", sa.Integer(), nullable=False),
        sa.Column("targets_reported", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    """Create the three tables, empty: the first refresh writes the watermark and builds the rest
    (so a backup loads onto a migrated database as onto any other)."""
    op.create_table(
        "period_score",
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("period_index", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=8), nullable=False),
        sa.Column("task_number", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("original_due_at", duban.db.UTCDateTime(), nullable=False),
        sa.Column("event_ids", sa.JSON(), nullable=False),
        sa.Column("events_by_rule", sa.JSON(), nullable=False),
        *_facts(),
        sa.PrimaryKeyConstraint("assignment_id", "period_index", name=op.f("pk_period_score")),
    )
    op.create_index(
        "ix_period_score_department",
        "period_score",
        ["department_id", "quarter", "assignment_id", "period_index"],
    )
    op.create_table(
        "score_tally",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=8), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        *_facts(),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_tally")),
    )
    op.create_index("ix_score_tally_quarter", "score_tally", ["quarter", "department_id"])
    op.create_table(
        "score_watermark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("terms", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_watermark")),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("score_watermark")
    op.drop_index("ix_score_tally_quarter", table_name="score_tally")
    op.drop_table("score_tally")
    op.drop_index("ix_period_score_department", table_name="period_score")
    op.drop_table("period_score")
