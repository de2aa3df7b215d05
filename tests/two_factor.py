"""Second factor for tests: users of the roles that need one are enrolled with a known secret.

A real server accepts each TOTP code once (the last step is kept). Tests sign the same user
in several times within one 30-second step, so `fresh_code` forgets the last step first;
tests/web/test_two_factor.py proves the refusal of a reused code on the real path. The secret
is stored sealed like the app stores it, under the app's DUBAN_SECRET_KEY (`key`: the
conftest `settings` fixture's unless a test serves other settings).
"""

from __future__ import annotations

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from duban.db import utcnow
from duban.models import User
from duban.services import two_factor

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
TEST_KEY = "test-secret"  # tests/conftest.py's settings.secret_key
# Which database each enrolled test user lives in, so helpers can compute a fresh code.
_HOMES: dict[str, sessionmaker[Session]] = {}


def enrol_known(
    session: Session, user: User, db: sessionmaker[Session], key: str = TEST_KEY
) -> None:
    """Give a user whose role needs it a confirmed factor with the known secret."""
    if two_factor.required_for(user):
        two_factor.store_secret(session=session, user=user, secret=SECRET, key=key)
        user.totp_enabled_at, user.totp_last_step = utcnow(), None
        _HOMES[user.username] = db
        session.flush()


def enrol_everyone(db: sessionmaker[Session], key: str) -> None:
    """Enrol every user of the two-factor roles (a live stack's seeded accounts)."""
    with db.begin() as s:
        for user in s.scalars(select(User)):
            if not two_factor.enrolled(user):
                enrol_known(s, user, db, key)


def code_for(username: str) -> str | None:
    """Return a fresh TOTP code for a user enrolled here, else None."""
    db = _HOMES.get(username)
    return fresh_code(db, username) if db is not None else None


def fresh_code(db: sessionmaker[Session], username: str) -> str:
    """Return the current code for the user, forgetting the step last used."""
    with db.begin() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        user.totp_last_step = None
    return pyotp.TOTP(SECRET).now()
