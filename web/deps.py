"""Request dependencies: settings, DB session, the signed-in user, role guards, Temporal, CSRF."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from temporalio.client import Client

from actions.assignment import Caller
from actions.clients import LazyTemporal
from actions.draft import Intake
from duban.db import make_session_factory, utcnow
from duban.domain import UserRole
from duban.errors import Forbidden
from duban.models import User
from duban.services.login_session import session_user
from duban.settings import Settings
from web.i18n import normalize_locale, t
from web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    TokenSigner,
    bearer_token,
    csrf_matches,
    password_fingerprint,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
SESSION_USER_KEY = "sid"  # the random id of a server-side login session
# Where an account that must pick a new password may still go.
PASSWORD_CHANGE_PATHS = frozenset({"/account/password", "/api/v1/auth/password"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class PasswordChangeRequired(Forbidden):
    """A seeded account signed in: it must choose its own password before anything else."""

    code = "password_change_required"


class SignInRequired(Exception):
    """No valid session or token: 401 for the API, a redirect to sign-in for pages."""

    def __init__(self, message: str) -> None:
        """Carry the Chinese reason."""
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Viewer:
    """A plain snapshot of the signed-in user for templates and error pages (no ORM)."""

    id: int
    username: str
    display_name: str
    role: str
    department_code: str | None
    department_name: str | None
    locale: str | None


def get_settings(request: Request) -> Settings:
    """Return the app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """Yield the request's one session: committed on success, rolled back on error.

    A route may end the transaction early with `duban.db.release` before a slow wait; the session
    then begins a new one on its next query.
    """
    with request.app.state.session_factory() as session:
        yield session
        session.commit()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


def _user_from_token(request: Request, session: Session, token: str) -> User:
    signer: TokenSigner = request.app.state.token_signer
    claims = signer.read(token)
    user = session.get(User, claims.user_id) if claims else None
    if claims is None or user is None or not user.is_active:
        raise SignInRequired(t("error.token"))
    if password_fingerprint(user.password_hash) != claims.fingerprint:
        raise SignInRequired(t("error.token"))
    return user


def _user_from_session(request: Request, session: Session) -> User | None:
    token = request.session.get(SESSION_USER_KEY)
    if token is None:
        return None
    user = (
        session_user(session=session, token=token, now=utcnow()) if isinstance(token, str) else None
    )
    if user is None:  # ended by sign-out, a password change or expiry
        request.session.pop(SESSION_USER_KEY, None)
    return user


def _remember(request: Request, user: User) -> None:
    dept = user.department
    request.state.user = Viewer(
        id=user.id,
        username=user.username,
        display_name=user.display_name or user.username,
        role=user.role,
        department_code=dept.code if dept else None,
        department_name=dept.name if dept else None,
        locale=user.locale,
    )


def optional_user(request: Request, session: SessionDep) -> User | None:
    """Return the user of the bearer token or the session cookie, or None when anonymous."""
    token = bearer_token(request)
    user = (
        _user_from_token(request, session, token) if token else _user_from_session(request, session)
    )
    if user is not None:
        _remember(request, user)
    return user


def current_user(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> User:
    """Return the signed-in user or raise SignInRequired (or PasswordChangeRequired)."""
    if user is None:
        raise SignInRequired(t("auth.required"))
    if (
        user.must_change_password
        and not request.app.state.dev_mode
        and request.url.path not in PASSWORD_CHANGE_PATHS
    ):
        raise PasswordChangeRequired(t("auth.must_change"))
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: UserRole) -> Callable[[User], User]:
    """Return a dependency that lets only users with one of `roles` through (else 403)."""
    allowed = frozenset(role.value for role in roles)

    def guard(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise Forbidden(t("error.forbidden"))
        return user

    return guard


AdminUser = Annotated[User, Depends(require_roles(UserRole.ADMIN))]
IntakeUser = Annotated[User, Depends(require_roles(UserRole.SUPERVISOR, UserRole.ADMIN))]


def lazy_temporal(request: Request) -> LazyTemporal:
    """Return the app's Temporal client holder; it connects only when an action needs it."""
    lazy: LazyTemporal = request.app.state.temporal
    return lazy


LazyTemporalDep = Annotated[LazyTemporal, Depends(lazy_temporal)]


async def get_temporal(lazy: LazyTemporalDep) -> Client:
    """Return the Temporal client, connecting lazily (TemporalUnavailable -> 503)."""
    return await lazy.get()


TemporalDep = Annotated[Client, Depends(get_temporal)]


def department_caller(user: CurrentUser, session: SessionDep, lazy: LazyTemporalDep) -> Caller:
    """Return the signed-in user as a caller; each action checks the department owns the item."""
    return Caller(session, user, lazy)


CallerDep = Annotated[Caller, Depends(department_caller)]


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe cookie-authenticated request without this session's CSRF token."""
    if request.method in SAFE_METHODS or bearer_token(request):
        return
    if request.url.path.startswith("/api/") and SESSION_USER_KEY not in request.session:
        return  # no cookie credentials, nothing to forge
    submitted = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if not submitted and content_type.startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not csrf_matches(request, submitted):
        raise Forbidden(t("error.csrf"), code="csrf")


def remember_lang(request: Request) -> None:
    """Store a `?lang=zh-TW` / `?lang=zh-CN` switch in the session."""
    locale = normalize_locale(request.query_params.get("lang"))
    if locale:
        request.session["lang"] = locale


def intake_of(request: Request) -> Intake:
    """Return what the intake actions need from the app: importing sessions see pending starts."""
    state = request.app.state
    return Intake(
        temporal=state.temporal,
        import_factory=make_session_factory(state.engine),
        session_factory=state.session_factory,
        settings=state.settings,
    )
