"""Sign-in shared by the page and the API: throttle, check the password, start or end a session.

No request-wide database session is held here: each step is its own short transaction, so a
burst of sign-ins holds at most one connection each.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from duban.db import utcnow
from duban.errors import DomainError
from duban.models import User
from duban.services import sign_in
from duban.services.audit import record_event
from duban.services.login_session import end_login_session, start_login_session
from duban.services.user import password_matches, rehashed
from web.deps import SESSION_USER_KEY
from web.i18n import t
from web.security import SESSION_TTL_SECONDS, client_ip, csrf_token

SESSION_TTL = timedelta(seconds=SESSION_TTL_SECONDS)


class Throttled(DomainError):
    """Too many failed sign-ins for this username and address, or from this address."""

    status = 429
    code = "throttled"


class BadCredentials(DomainError):
    """Wrong username or password, or an inactive account (not told apart on purpose)."""

    status = 401
    code = "bad_credentials"


def _factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def sign_in_user(request: Request, username: str, password: str, *, browser: bool) -> User:
    """Return the user for good credentials; raise Throttled or BadCredentials otherwise.

    The attempt is counted (and committed) before the password is checked, so concurrent
    attempts cannot get past the limit; a good password forgets it again. With `browser`
    a server-side session is started in the same transaction as the audit event.
    """
    ip, now = client_ip(request, request.app.state.trusted_proxies), utcnow()
    with _factory(request).begin() as session:
        wait = sign_in.claim_attempt(session=session, username=username, ip=ip, now=now)
    if wait:
        raise Throttled(t("error.throttled", minutes=math.ceil(wait / 60)))
    user_id, new_hash = _check_password(request, username, password)
    token = None
    with _factory(request).begin() as session:
        user = session.get(User, user_id) if user_id is not None else None
        if user is not None and not user.is_active:  # deactivated meanwhile
            user = None
        if user is not None and new_hash:
            user.password_hash = new_hash
        data = {"username": username.strip()[:64], "ip": ip, "via": "page" if browser else "api"}
        if user is None:
            record_event(session=session, kind="sign_in_failed", actor=None, data=data)
        else:
            sign_in.forget_failures(session=session, username=username, ip=ip)
            record_event(session=session, kind="sign_in_succeeded", actor=user, data=data)
            if browser:
                token = start_login_session(session=session, user=user, now=now, ttl=SESSION_TTL)
    if user is None:
        raise BadCredentials(t("auth.bad_credentials"))
    if token is not None:
        open_session(request, token)
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


def open_session(request: Request, token: str) -> None:
    """Put a new session id in the cookie (new CSRF token; the language switch is kept)."""
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
    request.session[SESSION_USER_KEY] = token
    csrf_token(request)


def start_session(request: Request, session: Session, user: User) -> None:
    """Start a fresh server-side session in the caller's transaction (after a password change)."""
    token = start_login_session(session=session, user=user, now=utcnow(), ttl=SESSION_TTL)
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
