"""Server-side sign-in sessions: the cookie carries a random id, the database what it means.

A session ends at its absolute limit (`expires_at`, set at sign-in), after the idle limit
without a request (`last_seen_at`, written at most once a minute), at sign-out, when its
owner ends it from the session list, or with every other session of the account (a password
change or reset, deactivation).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from duban.models import LoginSession, User

TOKEN_BYTES = 32
SEEN_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    # Only the hash is stored, so a copy of the database holds no usable cookie.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Origin:
    """Where a session was started from, for its owner's list."""

    ip: str = ""
    user_agent: str = ""
    second_factor: bool = False


def start_login_session(
    *, session: Session, user: User, now: datetime, ttl: timedelta, origin: Origin = Origin()
) -> str:
    """Create a session for the user and return its random id for the cookie."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    session.add(
        LoginSession(
            token_hash=_digest(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + ttl,
            last_seen_at=now,
            ip=origin.ip[:64],
            user_agent=origin.user_agent[:255],
            second_factor=origin.second_factor,
        )
    )
    session.flush()
    return token


def live_session(
    *, session: Session, token: str, now: datetime, idle: timedelta | None = None
) -> LoginSession | None:
    """Return the live session of an id (not past either limit), noting that it was seen."""
    if not token or len(token) > 128:
        return None
    row = session.scalars(
        select(LoginSession).where(
            LoginSession.token_hash == _digest(token), LoginSession.expires_at > now
        )
    ).one_or_none()
    if row is None:
        return None
    seen = row.last_seen_at or row.created_at
    if idle is not None and seen + idle <= now:
        session.delete(row)
        return None
    if seen + SEEN_EVERY <= now:
        row.last_seen_at = now
    return row


def user_sessions(*, session: Session, user_id: int, now: datetime) -> list[LoginSession]:
    """Return the user's unexpired sessions, the most recently seen first."""
    rows = session.scalars(
        select(LoginSession).where(LoginSession.user_id == user_id, LoginSession.expires_at > now)
    ).all()
    return sorted(rows, key=lambda r: r.last_seen_at or r.created_at, reverse=True)


def is_current(row: LoginSession, token: str | None) -> bool:
    """Return whether `row` is the session of this cookie id."""
    return bool(token) and row.token_hash == _digest(str(token))


def end_session_of(*, session: Session, user_id: int, session_id: int) -> bool:
    """End one of the user's own sessions by its row id; False when it is not theirs."""
    result = session.execute(
        delete(LoginSession).where(LoginSession.id == session_id, LoginSession.user_id == user_id)
    )
    return bool(getattr(result, "rowcount", 0))


def end_login_session(*, session: Session, token: str) -> None:
    """End one session (sign-out): its id stops working at once."""
    session.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(token)))


def end_user_sessions(*, session: Session, user_id: int) -> None:
    """End every session of a user (password change or reset, deactivation)."""
    session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
