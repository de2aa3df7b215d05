"""totp secrets sealed at rest (AES-GCM under a key derived from DUBAN_SECRET_KEY)

Revision ID: 6a1c9e4b7d20
Revises: 5c1e9a7d3b24
Create Date: 2026-12-02 06:00:00.000000

Existing plain secrets are sealed with the DUBAN_SECRET_KEY of the migrating process, which
must be the one the app runs with. With secrets to seal and no DUBAN_SECRET_KEY set, the
migration refuses (a random key would make every factor unusable). Downgrade opens them again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from duban.secretbox import is_sealed, open_sealed, seal, user_context
from duban.settings import Settings

revision: str = "6a1c9e4b7d20"
down_revision: str | None = "5c1e9a7d3b24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_users = sa.table(
    "user_account",
    sa.column("id", sa.Integer()),
    sa.column("totp_secret", sa.String()),
)


def _key() -> str:
    settings = Settings()  # read now, not the cached process settings
    if "secret_key" not in settings.model_fields_set:
        raise RuntimeError(
            "TOTP 密钥需要加密，但未设置 DUBAN_SECRET_KEY / TOTP secrets must be sealed: set "
            "DUBAN_SECRET_KEY to the key the app runs with, then migrate again"
        )
    return settings.secret_key


def upgrade() -> None:
    """Widen the column and seal every plain secret."""
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=64), type_=sa.String(length=255)
        )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_users.c.id, _users.c.totp_secret).where(_users.c.totp_secret.is_not(None))
    ).all()
    plain = [(uid, secret) for uid, secret in rows if not is_sealed(secret)]
    if not plain:
        return
    key = _key()
    for uid, secret in plain:
        conn.execute(
            _users.update()
            .where(_users.c.id == uid)
            .values(totp_secret=seal(key, secret, context=user_context(uid)))
        )


def downgrade() -> None:
    """Open the sealed secrets again and narrow the column."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_users.c.id, _users.c.totp_secret).where(_users.c.totp_secret.is_not(None))
    ).all()
    sealed = [(uid, secret) for uid, secret in rows if is_sealed(secret)]
    if sealed:
        key = _key()
        for uid, secret in sealed:
            plain = open_sealed(key, secret, context=user_context(uid))
            conn.execute(_users.update().where(_users.c.id == uid).values(totp_secret=plain))
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret", existing_type=sa.String(length=255), type_=sa.String(length=64)
        )
