"""Single sign-on through OpenID Connect (统一身份认证): the redirect and the callback.

The flow is the authorization code with PKCE; state, nonce and the PKCE verifier wait in the
signed session cookie (10 minutes) and are used once. The callback redeems the code (no
database connection is held meanwhile), links the identity to a local user (duban/services/
oidc_account.py) and starts a session. TOTP: when the provider asserts a second factor
(`amr`/`acr`, DUBAN_OIDC_MFA_AMR / _ACR) the session counts as having shown one; otherwise a
role with power goes through duban's own TOTP step like after a password.
Refusals are pages, never tracebacks: 403 for claims duban does not know, 400 for an answer
that does not check out (state, code, token), 503 + Retry-After when the provider is down.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.responses import RedirectResponse, Response

from duban import oidc
from duban.db import utcnow
from duban.errors import DomainError
from duban.services import two_factor
from duban.services.audit import record_event
from duban.services.oidc_account import sign_in_oidc
from duban.settings import Settings
from web.errors import RETRY_AFTER_SECONDS
from web.i18n import t
from web.pages.auth import safe_next
from web.rendering import render
from web.security import client_ip
from web.signin import begin_browser_session, remember_pending

router = APIRouter(include_in_schema=False)
PENDING_KEY = "oidc"
PENDING_SECONDS = 600
CALLBACK_PATH = "/login/oidc/callback"


def config_of(request: Request) -> oidc.OidcConfig | None:
    """Return the app's OIDC configuration, or None when single sign-on is off."""
    settings: Settings = request.app.state.settings
    return oidc.OidcConfig.from_settings(settings)


def _redirect_uri(request: Request) -> str:
    settings: Settings = request.app.state.settings
    if settings.base_url:
        return settings.base_url.rstrip("/") + CALLBACK_PATH
    return str(request.base_url).rstrip("/") + CALLBACK_PATH


def _refusal(request: Request, exc: DomainError) -> Response:
    response = render(
        request,
        "auth/oidc_error.html",
        {"status": exc.status, "detail": exc.message},
        status_code=exc.status,
    )
    if exc.status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def _audit_failure(request: Request, exc: DomainError, claims: dict[str, Any] | None) -> None:
    data = {
        "via": "oidc",
        "ip": client_ip(request, request.app.state.trusted_proxies),
        "reason": exc.code,
        "subject": str((claims or {}).get("sub", ""))[:255],
    }
    with _factory(request).begin() as session:
        record_event(session=session, kind="sign_in_failed", actor=None, data=data)


@router.get("/login/oidc")
def oidc_start(request: Request, next: str = "/") -> Response:
    """Send the browser to the identity provider (404 while single sign-on is off)."""
    config = config_of(request)
    if config is None:
        return render(
            request,
            "error.html",
            {"status": 404, "detail": t("error.not_found")},
            status_code=404,
        )
    try:
        url, pending = oidc.start(config, _redirect_uri(request))
    except DomainError as exc:
        return _refusal(request, exc)
    request.session[PENDING_KEY] = pending.as_dict() | {
        "next": safe_next(next),
        "at": str(int(time.time())),
    }
    return RedirectResponse(url, status_code=303)


def _take_pending(request: Request) -> tuple[oidc.Pending | None, str]:
    """Return (and forget) what oidc_start kept, if fresh; and where to go after."""
    note = request.session.pop(PENDING_KEY, None)
    if not isinstance(note, dict):
        return None, "/"
    at = note.get("at")
    fresh = isinstance(at, str) and at.isdigit() and time.time() - int(at) <= PENDING_SECONDS
    next_path = safe_next(note.get("next") if isinstance(note.get("next"), str) else "/")
    return (oidc.Pending.from_dict(note) if fresh else None), next_path


@router.get(CALLBACK_PATH)
def oidc_callback(request: Request) -> Response:
    """Check the provider's answer, link the local user and start a session."""
    config = config_of(request)
    if config is None:
        return render(
            request,
            "error.html",
            {"status": 404, "detail": t("error.not_found")},
            status_code=404,
        )
    pending, next_path = _take_pending(request)
    params = dict(request.query_params.items())
    claims: dict[str, Any] | None = None
    try:
        claims = oidc.finish(config, _redirect_uri(request), params, pending)
        identity = oidc.map_claims(config, claims)
        with _factory(request).begin() as session:
            user = sign_in_oidc(session=session, identity=identity, now=utcnow())
            data = {
                "username": user.username,
                "ip": client_ip(request, request.app.state.trusted_proxies),
                "via": "oidc",
                "provider_mfa": identity.mfa,
            }
            if not identity.mfa and two_factor.enrolled(user):
                data["second_factor"] = "pending"
            record_event(session=session, kind="sign_in_succeeded", actor=user, data=data)
    except oidc.ProviderDown as exc:
        return _refusal(request, exc)
    except DomainError as exc:
        _audit_failure(request, exc, claims)
        return _refusal(request, exc)
    if identity.mfa:
        begin_browser_session(request, user, second_factor=True)
    elif two_factor.enrolled(user):
        remember_pending(request, user)
        return RedirectResponse("/login/2fa?next=" + quote(next_path, safe="/"), status_code=303)
    else:
        begin_browser_session(request, user, second_factor=False)
    return RedirectResponse(next_path, status_code=303)
