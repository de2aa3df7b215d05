"""Server-side sign-in sessions: the cookie carries a random id, the database what it means."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from duban.models import LoginSession, User

TOKEN_BYTES = 32


def _digest(token: str) -> str:
    # Only the hash is stored, so a copy of the database holds no usable cookie.
    return hashlib.sha256(token.encode()).hexdigest()


def start_login_session(*, session: Session, user: User, now: datetime, ttl: timedelta) -> str:
    """Create a session for the user and return its random id for the cookie."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    session.add(
        LoginSession(
            token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + ttl
        )
    )
    session.flush()
    return token


def session_user(*, session: Session, token: str, now: datetime) -> User | None:
    """Return the active user of a live session id, else None."""
    if not token or len(token) > 128:
        return None
    row = session.scalars(
        select(LoginSession).where(
            LoginSession.token_hash == _digest(token), LoginSession.expires_at > now
        )
    ).one_or_none()
    user = session.get(User, row.user_id) if row else None
    return user if user is not None and user.is_active else None


def end_login_session(*, session: Session, token: str) -> None:
    """End one session (sign-out): its id stops working at once."""
    session.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(token)))


def end_user_sessions(*, session: Session, user_id: int) -> None:
    """End every session of a user (password change or reset, deactivation)."""
    session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
