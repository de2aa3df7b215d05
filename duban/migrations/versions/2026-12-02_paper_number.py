"""paper_number: stable yearly numbers of the formal papers (督办通知单, 催办通知单, 办结报告)

Revision ID: 3d8f2b6c1a47
Revises: 3d7b9f2a4c61
Create Date: 2026-12-02 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import duban.db

revision: str = "3d8f2b6c1a47"
down_revision: str | None = "3d7b9f2a4c61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the paper_number table."""
    op.create_table(
        "paper_number",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=100), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", duban.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignment.id"],
            name=op.f("fk_paper_number_assignment_id_assignment"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"],
            ["user_account.id"],
            name=op.f("fk_paper_number_issued_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_number")),
        sa.UniqueConstraint(
            "kind", "year", "serial", name=op.f("uq_paper_number_kind_year_serial")
        ),
        sa.UniqueConstraint("source_key", name=op.f("uq_paper_number_source_key")),
    )
    with op.batch_alter_table("paper_number", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paper_number_assignment_id"), ["assignment_id"], unique=False
        )


def downgrade() -> None:
    """Drop the paper_number table."""
    with op.batch_alter_table("paper_number", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_number_assignment_id"))
    op.drop_table("paper_number")
