"""Second factor for tests: users of the roles that need one are enrolled with a known secret.

A real server accepts each TOTP code once (the last step is kept). Tests sign the same user
in several times within one 30-second step, so `fresh_code` forgets the last step first;
tests/web/test_two_factor.py proves the refusal of a reused code on the real path.
"""

from __future__ import annotations

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from duban.db import utcnow
from duban.models import User
from duban.services import two_factor

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def enrol_known(session: Session, user: User) -> None:
    """Give a user whose role needs it a confirmed factor with the known secret."""
    if two_factor.required_for(user):
        user.totp_secret, user.totp_enabled_at, user.totp_last_step = SECRET, utcnow(), None
        session.flush()


def fresh_code(db: sessionmaker[Session], username: str) -> str:
    """Return the current code for the user, forgetting the step last used."""
    with db.begin() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        user.totp_last_step = None
    return pyotp.TOTP(SECRET).now()
