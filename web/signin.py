"""Sign-in shared by the page and the API: throttle, check the password, start or end a session."""

from __future__ import annotations

import math

from sqlalchemy.orm import Session
from starlette.requests import Request

from duban.errors import DomainError
from duban.models import User
from duban.services.user import authenticate
from web.deps import SESSION_PASSWORD_KEY, SESSION_USER_KEY
from web.i18n import t
from web.security import LoginThrottle, client_ip, csrf_token, password_fingerprint


class Throttled(DomainError):
    """Too many failed sign-ins for this username and address."""

    status = 429
    code = "throttled"


class BadCredentials(DomainError):
    """Wrong username or password, or an inactive account (not told apart on purpose)."""

    status = 401
    code = "bad_credentials"


def verify_credentials(request: Request, session: Session, username: str, password: str) -> User:
    """Return the user for good credentials; raise Throttled or BadCredentials otherwise."""
    throttle: LoginThrottle = request.app.state.login_throttle
    ip = client_ip(request)
    wait = throttle.retry_after(username, ip)
    if wait:
        raise Throttled(t("error.throttled", minutes=math.ceil(wait / 60)))
    user = authenticate(session=session, username=username, password=password)
    if user is None:
        throttle.failed(username, ip)
        raise BadCredentials(t("auth.bad_credentials"))
    throttle.succeeded(username, ip)
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
