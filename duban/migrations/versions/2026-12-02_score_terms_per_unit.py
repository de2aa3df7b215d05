"""score watermark: the head terms' fingerprint per unit (a new head rebuilds one unit's rows)

Revision ID: 3a7c5e1d9b62
Revises: 8d4f2b6a1c93
Create Date: 2026-12-02 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3a7c5e1d9b62"
down_revision: str | None = "8d4f2b6a1c93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One fingerprint of every term was 64 hex digits; a JSON object of one per unit is longer.
    # A fingerprint left in the old form reads as unknown: the next refresh rebuilds every row.
    with op.batch_alter_table("score_watermark") as batch:
        batch.alter_column(
            "terms", existing_type=sa.String(length=64), type_=sa.Text(), existing_nullable=False
        )


def downgrade() -> None:
    op.execute("UPDATE score_watermark SET terms = ''")  # the old form: rebuilt on next refresh
    with op.batch_alter_table("score_watermark") as batch:
        batch.alter_column(
            "terms", existing_type=sa.Text(), type_=sa.String(length=64), existing_nullable=False
        )
