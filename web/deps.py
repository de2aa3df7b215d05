"""Request dependencies: settings, DB session, the signed-in user, role guards, Temporal, CSRF."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
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
from duban.services import two_factor
from duban.services.login_session import live_session
from duban.services.password_age import password_expired
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
# Where an account that must enrol a second factor may still go.
ENROLMENT_PATHS = frozenset({"/account/2fa", "/api/v1/auth/2fa", "/api/v1/auth/2fa/confirm"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class AccountStepRequired(Forbidden):
    """The account must do something first; pages are sent to `page`, the API gets 403."""

    page = "/"


class PasswordChangeRequired(AccountStepRequired):
    """A seeded account or an expired password: a new one before anything else."""

    code = "password_change_required"
    page = "/account/password"


class TwoFactorEnrolmentRequired(AccountStepRequired):
    """A role with power and no second factor yet: enrol before anything else."""

    code = "two_factor_enrolment_required"
    page = "/account/2fa"


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
    request.state.second_factor = claims.second_factor
    return user


def _user_from_session(request: Request, session: Session) -> User | None:
    token = request.session.get(SESSION_USER_KEY)
    if token is None:
        return None
    settings: Settings = request.app.state.settings
    idle = timedelta(minutes=settings.session_idle_minutes)
    row = (
        live_session(session=session, token=token, now=utcnow(), idle=idle)
        if isinstance(token, str)
        else None
    )
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or not user.is_active:  # ended, expired or deactivated
        request.session.pop(SESSION_USER_KEY, None)
        return None
    request.state.second_factor = row.second_factor
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


def must_change_password(request: Request, user: User) -> bool:
    """Return whether the account must pick a new password (seeded, or expired as configured)."""
    if request.app.state.dev_mode:
        return False
    settings: Settings = request.app.state.settings
    max_age = settings.password_max_age_days
    return user.must_change_password or password_expired(user, max_age_days=max_age, now=utcnow())


def _check_second_factor(request: Request, user: User) -> None:
    """Refuse a role with power that has no second factor, or did not show it (outside dev)."""
    if request.app.state.dev_mode or not two_factor.required_for(user):
        return
    if getattr(request.state, "second_factor", False):
        return  # shown here, or asserted by the OIDC provider (DESIGN.md, "Single sign-on")
    if not two_factor.enrolled(user):
        if request.url.path not in ENROLMENT_PATHS:
            raise TwoFactorEnrolmentRequired(t("auth.must_enrol"))
    else:
        raise SignInRequired(t("auth.second_factor_required"))


def current_user(request: Request, user: Annotated[User | None, Depends(optional_user)]) -> User:
    """Return the signed-in user, or raise SignInRequired or the step the account must take."""
    if user is None:
        raise SignInRequired(t("auth.required"))
    if must_change_password(request, user):
        if request.url.path not in PASSWORD_CHANGE_PATHS:
            raise PasswordChangeRequired(t("auth.must_change"))
        return user
    _check_second_factor(request, user)
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
