"""The migration that seals TOTP secrets at rest, on SQLite and PostgreSQL: plain secrets of
an existing database are sealed with DUBAN_SECRET_KEY; without that key it refuses."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import Engine, text

from duban.migrate import migrate_connection
from duban.secretbox import open_sealed, user_context

BEFORE = "5c1e9a7d3b24"
SEALING = "6a1c9e4b7d20"
KEY = "a-deployment-key-of-more-than-32-characters"


def _plain_secret_before_sealing(engine: Engine) -> tuple[int, str]:
    """Go back to the schema before sealing and store a plain secret like it did."""
    secret = pyotp.random_base32()
    with engine.begin() as conn:
        migrate_connection(conn, BEFORE)
        conn.execute(
            text(
                "INSERT INTO user_account (username, password_hash, role, display_name, "
                "digest_email, is_active, must_change_password, totp_secret, created_at) "
                "VALUES ('old-sup', 'x', 'supervisor', '', false, true, false, :s, :now)"
            ),
            {"s": secret, "now": "2026-12-01 00:00:00+00:00"},
        )
        uid = conn.execute(
            text("SELECT id FROM user_account WHERE username = 'old-sup'")
        ).scalar_one()
    return int(uid), secret


def _raw(engine: Engine, uid: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT totp_secret FROM user_account WHERE id = :id"), {"id": uid}
            ).scalar_one()
        )


def test_existing_plain_secrets_are_sealed(engine, monkeypatch):
    uid, secret = _plain_secret_before_sealing(engine)
    monkeypatch.setenv("DUBAN_SECRET_KEY", KEY)
    with engine.begin() as conn:
        migrate_connection(conn, SEALING)
    raw = _raw(engine, uid)
    assert secret not in raw and raw.startswith("v1.")
    assert open_sealed(KEY, raw, context=user_context(uid)) == secret
    with engine.begin() as conn:  # and back: the plain secret again
        migrate_connection(conn, BEFORE)
    assert _raw(engine, uid) == secret


def test_without_the_key_the_migration_refuses_and_changes_nothing(engine, monkeypatch):
    uid, secret = _plain_secret_before_sealing(engine)
    monkeypatch.delenv("DUBAN_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="DUBAN_SECRET_KEY"), engine.begin() as conn:
        migrate_connection(conn, SEALING)
    assert _raw(engine, uid) == secret
