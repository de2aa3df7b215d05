"""Sign-in shared by the page and the API: throttle, check the password and the second factor,
start or end a session.

No request-wide database session is held here: each step is its own short transaction, so a
burst of sign-ins holds at most one connection each. A second-factor code is throttled like a
password (its attempts count under "2fa:<username>" and against the address).
"""

from __future__ import annotations

import math
import time
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from duban.db import utcnow
from duban.errors import DomainError
from duban.models import User
from duban.services import sign_in, two_factor
from duban.services.audit import record_event
from duban.services.login_session import Origin, end_login_session, start_login_session
from duban.services.user import password_matches, rehashed
from duban.settings import Settings
from web.deps import SESSION_USER_KEY
from web.i18n import t
from web.security import client_ip, csrf_token

PENDING_KEY = "mfa"  # the cookie's note of who passed the password step, and when
PENDING_SECONDS = 300


class Throttled(DomainError):
    """Too many failed sign-ins for this username and address, or from this address."""

    status = 429
    code = "throttled"


class BadCredentials(DomainError):
    """Wrong username or password, or an inactive account (not told apart on purpose)."""

    status = 401
    code = "bad_credentials"


class SecondFactorRequired(DomainError):
    """The password was right; the account also needs a TOTP or recovery code (`otp`)."""

    status = 401
    code = "otp_required"
    expose_code = True  # the JSON body says `code`, so a client knows to ask for the code


class BadSecondFactor(DomainError):
    """A wrong, reused or expired second-factor code."""

    status = 401
    code = "bad_otp"
    expose_code = True


def _factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def session_ttl(request: Request) -> timedelta:
    """Return the absolute session limit (DUBAN_SESSION_MAX_HOURS)."""
    settings: Settings = request.app.state.settings
    return timedelta(hours=settings.session_max_hours)


def _claim(request: Request, key: str) -> str:
    """Count an attempt for `key` before checking it; raise Throttled past the limit."""
    ip = client_ip(request, request.app.state.trusted_proxies)
    with _factory(request).begin() as session:
        wait = sign_in.claim_attempt(session=session, username=key, ip=ip, now=utcnow())
    if wait:
        raise Throttled(t("error.throttled", minutes=math.ceil(wait / 60)))
    return ip


def check_password(request: Request, username: str, password: str, *, via: str) -> User:
    """Return the user for good credentials; raise Throttled or BadCredentials otherwise.

    The attempt is counted (and committed) before the password is checked, so concurrent
    attempts cannot get past the limit; a good password forgets it again.
    """
    ip = _claim(request, username)
    user_id, new_hash = _check_password(request, username, password)
    with _factory(request).begin() as session:
        user = session.get(User, user_id) if user_id is not None else None
        if user is not None and not user.is_active:  # deactivated meanwhile
            user = None
        if user is not None and new_hash:
            user.password_hash = new_hash
        data = {"username": username.strip()[:64], "ip": ip, "via": via}
        if user is None:
            record_event(session=session, kind="sign_in_failed", actor=None, data=data)
        else:
            sign_in.forget_failures(session=session, username=username, ip=ip)
            if two_factor.enrolled(user):
                data["second_factor"] = "pending"
            record_event(session=session, kind="sign_in_succeeded", actor=user, data=data)
    if user is None:
        raise BadCredentials(t("auth.bad_credentials"))
    return user


def _check_password(
    request: Request, username: str, password: str
) -> tuple[int | None, str | None]:
    """Return the id of the active user these credentials name (else None) and a new hash when
    the stored one has older parameters. The row is read in its own short transaction and
    Argon2 runs with no connection held, so a burst of sign-ins cannot drain the pool."""
    query = select(User.id, User.password_hash, User.is_active)
    with _factory(request)() as session:
        found = session.execute(query.where(User.username == username.strip())).first()
    stored = found.password_hash if found else None
    if not password_matches(stored, password, allow_demo=request.app.state.dev_mode):
        return None, None
    if found is None or stored is None or not found.is_active:
        return None, None
    return found.id, rehashed(stored, password)


def check_second_factor(request: Request, user_id: int, code: str, *, via: str) -> User:
    """Return the user when `code` is a fresh TOTP or an unused recovery code; audited."""
    with _factory(request).begin() as session:
        user = session.get(User, user_id)
        username = user.username if user is not None and user.is_active else ""
    if not username:
        raise BadSecondFactor(t("auth.bad_code"))
    ip = _claim(request, f"2fa:{username}")
    with _factory(request).begin() as session:
        user = session.get(User, user_id)
        assert user is not None
        key = request.app.state.settings.secret_key
        kind = two_factor.verify(session=session, user=user, code=code[:64], now=utcnow(), key=key)
        data = {"username": username, "ip": ip, "via": via, "method": kind or ""}
        if kind is None:
            record_event(session=session, kind="two_factor_failed", actor=user, data=data)
        else:
            sign_in.forget_failures(session=session, username=f"2fa:{username}", ip=ip)
            record_event(session=session, kind="two_factor_succeeded", actor=user, data=data)
    if kind is None:
        raise BadSecondFactor(t("auth.bad_code"))
    return user


def remember_pending(request: Request, user: User) -> None:
    """Note in the signed cookie that the user passed the password step (for 5 minutes)."""
    request.session[PENDING_KEY] = {"uid": user.id, "at": int(time.time())}


def pending_user_id(request: Request) -> int | None:
    """Return the user waiting for the second step, if the note is fresh."""
    note = request.session.get(PENDING_KEY)
    if not isinstance(note, dict) or not isinstance(note.get("uid"), int):
        return None
    if not isinstance(note.get("at"), int) or time.time() - note["at"] > PENDING_SECONDS:
        return None
    return int(note["uid"])


def begin_browser_session(request: Request, user: User, *, second_factor: bool) -> None:
    """Start a server-side session for the browser in its own transaction."""
    with _factory(request).begin() as session:
        start_session(request, session, user, second_factor=second_factor)


def open_session(request: Request, token: str) -> None:
    """Put a new session id in the cookie (new CSRF token; the language switch is kept)."""
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
    request.session[SESSION_USER_KEY] = token
    csrf_token(request)


def start_session(
    request: Request, session: Session, user: User, *, second_factor: bool = False
) -> None:
    """Start a fresh server-side session in the caller's transaction (sign-in, password change)."""
    origin = Origin(
        ip=client_ip(request, request.app.state.trusted_proxies),
        user_agent=request.headers.get("user-agent", ""),
        second_factor=second_factor,
    )
    token = start_login_session(
        session=session, user=user, now=utcnow(), ttl=session_ttl(request), origin=origin
    )
    open_session(request, token)


def end_session(request: Request) -> None:
    """Sign out: end the server-side session, forget everything but the language switch."""
    token = request.session.get(SESSION_USER_KEY)
    if isinstance(token, str):
        with _factory(request).begin() as session:
            end_login_session(session=session, token=token)
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
