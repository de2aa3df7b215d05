"""Sign-in shared by the page and the API: throttle, check the password, start or end a session."""

from __future__ import annotations

import math

from sqlalchemy.orm import Session
from starlette.requests import Request

from duban.db import utcnow
from duban.errors import DomainError
from duban.models import User
from duban.services import sign_in
from duban.services.user import authenticate
from web.deps import SESSION_PASSWORD_KEY, SESSION_USER_KEY, release
from web.i18n import t
from web.security import client_ip, csrf_token, password_fingerprint


class Throttled(DomainError):
    """Too many failed sign-ins for this username and address."""

    status = 429
    code = "throttled"


class BadCredentials(DomainError):
    """Wrong username or password, or an inactive account (not told apart on purpose)."""

    status = 401
    code = "bad_credentials"


def verify_credentials(request: Request, session: Session, username: str, password: str) -> User:
    """Return the user for good credentials; raise Throttled or BadCredentials otherwise.

    Failures are counted in the database, so every web replica refuses alike; each is
    committed at once on the request's one session, since the request ends with the error.
    """
    ip, now = client_ip(request), utcnow()
    wait = sign_in.retry_after(session=session, username=username, ip=ip, now=now)
    if wait:
        raise Throttled(t("error.throttled", minutes=math.ceil(wait / 60)))
    user = authenticate(session=session, username=username, password=password)
    if user is None:
        sign_in.record_failure(session=session, username=username, ip=ip, now=now)
        release(session)  # the failure counts although the request ends with an error
        raise BadCredentials(t("auth.bad_credentials"))
    sign_in.forget_failures(session=session, username=username, ip=ip)
    return user


def start_session(request: Request, user: User) -> None:
    """Sign the user in on a fresh session (new CSRF token; the language switch is kept)."""
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
    request.session[SESSION_USER_KEY] = user.id
    request.session[SESSION_PASSWORD_KEY] = password_fingerprint(user.password_hash)
    csrf_token(request)


def end_session(request: Request) -> None:
    """Sign out: forget everything but the language switch."""
    lang = request.session.get("lang")
    request.session.clear()
    if lang:
        request.session["lang"] = lang
