"""strong sign-in: TOTP and recovery codes, password age, session details

Revision ID: 3f8b2d6c1a90
Revises: 3d8f2b6c1a47
Create Date: 2026-12-02 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import duban.db

revision: str = "3f8b2d6c1a90"
down_revision: str | None = "3d8f2b6c1a47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the second factor, the password's age and what a session list shows."""
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", duban.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_recovery_code_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_code")),
    )
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_code_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("password_changed_at", duban.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("totp_enabled_at", duban.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_seen_at", duban.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("ip", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("user_agent", sa.String(length=255), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("second_factor", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        for column in ("second_factor", "user_agent", "ip", "last_seen_at"):
            batch_op.drop_column(column)
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        for column in ("totp_last_step", "totp_enabled_at", "totp_secret", "password_changed_at"):
            batch_op.drop_column(column)
    with op.batch_alter_table("recovery_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_code_user_id"))
    op.drop_table("recovery_code")
