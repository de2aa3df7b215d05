"""oidc identity: local users linked to an OpenID Connect provider's (issuer, subject)

Revision ID: 8d2e5f7a9c31
Revises: 6a1c9e4b7d20
Create Date: 2026-12-02 06:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import duban.db

revision: str = "8d2e5f7a9c31"
down_revision: str | None = "6a1c9e4b7d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the link table."""
    op.create_table(
        "oidc_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("created_at", duban.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", duban.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_oidc_identity_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_identity")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_oidc_identity_issuer_subject")),
    )
    with op.batch_alter_table("oidc_identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oidc_identity_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    """Drop the link table."""
    with op.batch_alter_table("oidc_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_identity_user_id"))
    op.drop_table("oidc_identity")
