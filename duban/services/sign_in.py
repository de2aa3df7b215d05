"""The sign-in throttle: attempts per username and address, and per address, in the database.

An attempt is recorded before its password is checked, under a lock per address (an
advisory lock on PostgreSQL, the write lock on SQLite), in its own committed transaction;
a good password removes it again. So a burst of concurrent attempts is counted one by one
and at most MAX_FAILURES of them reach the password hash.
"""

from __future__ import annotations

import math
import zlib
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from duban.models.sign_in import SignInFailure

MAX_FAILURES = 5  # per username and address
MAX_ADDRESS_FAILURES = 20  # per address across usernames: password spraying
WINDOW = timedelta(minutes=15)
USERNAME_LENGTH = 64  # longer names belong to no account; folding them together is harmless
LOCK_NAMESPACE = 0x6475  # "du": the first key of the two-key advisory lock


def _key(username: str, ip: str) -> tuple[str, str]:
    return username.strip().lower()[:USERNAME_LENGTH], ip[:64]


def _wait(times: list[datetime], limit: int, now: datetime) -> int:
    """Return the seconds until fewer than `limit` of the newest-first `times` are in the window."""
    if len(times) < limit:
        return 0
    # Once the oldest of the last `limit` leaves the window, fewer than that remain.
    return max(1, math.ceil((times[limit - 1] + WINDOW - now).total_seconds()))


def _recent(
    session: Session, now: datetime, limit: int, *conditions: ColumnElement[bool]
) -> list[datetime]:
    stmt = (
        select(SignInFailure.failed_at)
        .where(SignInFailure.failed_at > now - WINDOW, *conditions)
        .order_by(SignInFailure.failed_at.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def retry_after(*, session: Session, username: str, ip: str, now: datetime) -> int:
    """Return the seconds until `username` may try again from `ip`; 0 when it may now."""
    name, addr = _key(username, ip)
    per_account = _recent(
        session, now, MAX_FAILURES, SignInFailure.username == name, SignInFailure.ip == addr
    )
    per_address = _recent(session, now, MAX_ADDRESS_FAILURES, SignInFailure.ip == addr)
    return max(_wait(per_account, MAX_FAILURES, now), _wait(per_address, MAX_ADDRESS_FAILURES, now))


def _lock_address(session: Session, addr: str) -> None:
    """Serialise the attempts of one address until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(addr.encode()) - 2**31  # the advisory key is a signed 32-bit int
        session.execute(select(func.pg_advisory_xact_lock(LOCK_NAMESPACE, key)))


def claim_attempt(*, session: Session, username: str, ip: str, now: datetime) -> int:
    """Record an attempt and return 0, or return the seconds to wait and record nothing.

    Call it in a transaction of its own and commit before checking the password.
    """
    name, addr = _key(username, ip)
    _lock_address(session, addr)
    # On SQLite this DELETE, the transaction's first statement, takes the write lock, so
    # the count below cannot change under us before the insert commits.
    session.execute(delete(SignInFailure).where(SignInFailure.failed_at <= now - WINDOW))
    wait = retry_after(session=session, username=name, ip=addr, now=now)
    if wait == 0:
        session.add(SignInFailure(username=name, ip=addr, failed_at=now))
        session.flush()
    return wait


def record_failure(*, session: Session, username: str, ip: str, now: datetime) -> None:
    """Record a failed attempt, and forget every attempt older than the window."""
    name, addr = _key(username, ip)
    session.execute(delete(SignInFailure).where(SignInFailure.failed_at <= now - WINDOW))
    session.add(SignInFailure(username=name, ip=addr, failed_at=now))


def forget_failures(*, session: Session, username: str, ip: str) -> None:
    """Forget the attempts of `username` from `ip` after a good sign-in."""
    name, addr = _key(username, ip)
    session.execute(
        delete(SignInFailure).where(SignInFailure.username == name, SignInFailure.ip == addr)
    )
