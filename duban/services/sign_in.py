"""The sign-in throttle: failed attempts per username and address, read from the database."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from duban.models.sign_in import SignInFailure

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
USERNAME_LENGTH = 64  # longer names belong to no account; folding them together is harmless


def _key(username: str, ip: str) -> tuple[str, str]:
    return username.strip().lower()[:USERNAME_LENGTH], ip[:64]


def retry_after(*, session: Session, username: str, ip: str, now: datetime) -> int:
    """Return the seconds until `username` may try again from `ip`; 0 when it may now."""
    name, addr = _key(username, ip)
    recent = session.scalars(
        select(SignInFailure.failed_at)
        .where(
            SignInFailure.username == name,
            SignInFailure.ip == addr,
            SignInFailure.failed_at > now - WINDOW,
        )
        .order_by(SignInFailure.failed_at.desc())
        .limit(MAX_FAILURES)
    ).all()
    if len(recent) < MAX_FAILURES:
        return 0
    # Once the oldest of the last MAX_FAILURES leaves the window, fewer than that remain.
    return max(1, math.ceil((recent[-1] + WINDOW - now).total_seconds()))


def record_failure(*, session: Session, username: str, ip: str, now: datetime) -> None:
    """Record a failed attempt, and forget every attempt older than the window."""
    name, addr = _key(username, ip)
    session.execute(delete(SignInFailure).where(SignInFailure.failed_at <= now - WINDOW))
    session.add(SignInFailure(username=name, ip=addr, failed_at=now))


def forget_failures(*, session: Session, username: str, ip: str) -> None:
    """Forget the failed attempts of `username` from `ip` after a good sign-in."""
    name, addr = _key(username, ip)
    session.execute(
        delete(SignInFailure).where(SignInFailure.username == name, SignInFailure.ip == addr)
    )
