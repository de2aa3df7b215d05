"""TOTP second factor (RFC 6238, pyotp) and one-time recovery codes for the roles with power.

Supervisors, assessors, leaders and admins must enrol (issue 14: the roles with power). A code is accepted
within one 30-second step either side and only once: the last accepted step is kept, so a
code seen over a shoulder cannot be replayed. Recovery codes carry 80 random bits, are shown
once and kept as SHA-256 digests; each works once.

The TOTP secret is stored sealed (duban.secretbox: AES-256-GCM under a key derived from
DUBAN_SECRET_KEY, bound to the user's row); every function that reads or writes it takes
that `key`. A secret that does not open (the secret key was changed) makes every code wrong:
the user signs in with a recovery code or an admin resets the factor.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import pyotp
import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.domain import UserRole
from duban.errors import Conflict
from duban.models import RecoveryCode, User
from duban.secretbox import SealedValueError, open_sealed, seal, user_context
from duban.services.audit import record_event
from duban.services.login_session import end_user_sessions

TWO_FACTOR_ROLES = frozenset(
    {UserRole.SUPERVISOR, UserRole.ASSESSOR, UserRole.LEADER, UserRole.ADMIN}
)
ISSUER = "督办 duban"
RECOVERY_CODES = 10
log = structlog.get_logger(__name__)
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def required_for(user: User) -> bool:
    """Return whether the user's role must sign in with a second factor."""
    return user.role in TWO_FACTOR_ROLES


def enrolled(user: User) -> bool:
    """Return whether the user has a confirmed second factor."""
    return user.totp_secret is not None and user.totp_enabled_at is not None


def _digest(code: str) -> str:
    return hashlib.sha256(normalize(code).encode()).hexdigest()


def normalize(code: str) -> str:
    """Fold a typed code: ASCII letters and digits only (no blanks or dashes), lower case.

    Codes are ASCII; anything else is dropped here, so a code of other characters (٣, æ, lone
    surrogates) is simply wrong instead of reaching `compare_digest`, which refuses non-ASCII str.
    """
    return "".join(c for c in code.lower() if c.isascii() and c.isalnum())


def provisioning_uri(user: User, secret: str) -> str:
    """Return the otpauth:// URI an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def store_secret(*, session: Session, user: User, secret: str, key: str) -> None:
    """Keep `secret` (base32) as the user's TOTP secret, sealed under `key`."""
    session.flush()  # a new user gets its id, which the sealed value is bound to
    user.totp_secret = seal(key, secret, context=user_context(user.id))
    session.flush()


def secret_of(user: User, key: str) -> str | None:
    """Return the user's TOTP secret in plain, or None (none, or sealed under another key)."""
    if user.totp_secret is None:
        return None
    try:
        return open_sealed(key, user.totp_secret, context=user_context(user.id))
    except SealedValueError:
        log.warning("totp_secret_unreadable", user=user.username)
        return None


def begin_enrolment(*, session: Session, user: User, key: str) -> str:
    """Return the pending secret for the user, creating one; refused once enrolled."""
    if enrolled(user):
        raise Conflict("已启用两步验证 / two-factor sign-in is already on")
    secret = secret_of(user, key)
    if secret is None:
        secret = pyotp.random_base32()
        store_secret(session=session, user=user, secret=secret, key=key)
    return secret


def _step_of(secret: str, code: str, now: datetime, last: int | None) -> int | None:
    """Return the step whose code matches (one step either side), newer than `last`."""
    totp, step = pyotp.TOTP(secret), int(now.timestamp()) // 30
    for candidate in (step - 1, step, step + 1):
        if last is not None and candidate <= last:
            continue
        if secrets.compare_digest(totp.at(candidate * 30), code):
            return candidate
    return None


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(16)) for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(c)) for c in codes)
    return ["-".join(c[i : i + 4] for i in range(0, 16, 4)) for c in codes]


def confirm_enrolment(
    *, session: Session, user: User, code: str, now: datetime, key: str
) -> list[str] | None:
    """Turn the factor on when `code` matches the pending secret; return the recovery codes."""
    secret = secret_of(user, key)
    if secret is None or enrolled(user):
        return None
    step = _step_of(secret, normalize(code), now, None)
    if step is None:
        return None
    user.totp_enabled_at, user.totp_last_step = now, step
    codes = _new_recovery_codes(session, user)
    record_event(session=session, kind="two_factor_enabled", actor=user, data={})
    session.flush()
    return codes


def verify(*, session: Session, user: User, code: str, now: datetime, key: str) -> str | None:
    """Check a TOTP code or a recovery code; return "totp" or "recovery", or None."""
    folded = normalize(code)
    if not enrolled(user) or not folded:
        return None
    if len(folded) == 6 and folded.isdigit():
        secret = secret_of(user, key)
        if secret is None:
            return None
        step = _step_of(secret, folded, now, user.totp_last_step)
        if step is None:
            return None
        user.totp_last_step = step
        return "totp"
    row = session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(folded),
            RecoveryCode.used_at.is_(None),
        )
    ).one_or_none()
    if row is None:
        return None
    row.used_at = now
    left = session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    record_event(session=session, kind="recovery_code_used", actor=user, data={"left": len(left)})
    return "recovery"


def reset(*, session: Session, user: User, actor: User) -> None:
    """Turn the factor off (an admin, for a lost phone): sessions end, the user enrols again."""
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = None, None, None
    end_user_sessions(session=session, user_id=user.id)
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    record_event(
        session=session, kind="two_factor_reset", actor=actor, data={"user": user.username}
    )
    session.flush()
