"""`/api/v1/auth/2fa` and `/api/v1/auth/sessions`: the JSON twins of the account pages."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from duban.db import utcnow
from duban.errors import Invalid, NotFound
from duban.services import two_factor
from duban.services.audit import record_event
from duban.services.login_session import end_session_of, is_current, user_sessions
from web.deps import SESSION_USER_KEY, CurrentUser, SessionDep, SettingsDep
from web.i18n import t
from web.openapi import error_responses
from web.schemas import RowId

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class EnrolmentRead(BaseModel):
    """A pending TOTP secret: type it or its otpauth URI into an authenticator app."""

    secret: str
    otpauth_uri: str


class CodeBody(BaseModel):
    """A 6-digit TOTP code."""

    code: str = Field(max_length=64)


class RecoveryCodesRead(BaseModel):
    """The recovery codes, shown this once; sign in again (with `otp`) for a full token."""

    recovery_codes: list[str]


class SessionRead(BaseModel):
    """One of one's own browser sessions."""

    id: int
    created_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime
    ip: str
    user_agent: str
    current: bool


@router.post("/2fa", response_model=EnrolmentRead, responses=error_responses(409))
def begin_enrolment(user: CurrentUser, session: SessionDep, settings: SettingsDep) -> EnrolmentRead:
    """Start (or show again) enrolment of a TOTP second factor; 409 once it is on."""
    secret = two_factor.begin_enrolment(session=session, user=user, key=settings.secret_key)
    return EnrolmentRead(secret=secret, otpauth_uri=two_factor.provisioning_uri(user, secret))


@router.post("/2fa/confirm", response_model=RecoveryCodesRead, responses=error_responses(409))
def confirm_enrolment(
    body: CodeBody, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> RecoveryCodesRead:
    """Turn the factor on with a code from the app (422 for a wrong one); audited."""
    codes = two_factor.confirm_enrolment(
        session=session, user=user, code=body.code, now=utcnow(), key=settings.secret_key
    )
    if codes is None:
        raise Invalid(t("auth.bad_code"))
    return RecoveryCodesRead(recovery_codes=codes)


@router.get("/sessions", response_model=list[SessionRead])
def list_sessions(request: Request, user: CurrentUser, session: SessionDep) -> list[SessionRead]:
    """List one's own live browser sessions (bearer tokens are not sessions)."""
    token = request.session.get(SESSION_USER_KEY)
    return [
        SessionRead(
            id=row.id,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
            ip=row.ip,
            user_agent=row.user_agent,
            current=is_current(row, token if isinstance(token, str) else None),
        )
        for row in user_sessions(session=session, user_id=user.id, now=utcnow())
    ]


@router.delete("/sessions/{session_id}", status_code=204)
def end_session(session_id: RowId, user: CurrentUser, session: SessionDep) -> Response:
    """End one of one's own sessions at once (404 for anyone else's); audited."""
    if not end_session_of(session=session, user_id=user.id, session_id=session_id):
        raise NotFound(t("error.not_found"))
    record_event(session=session, kind="session_ended", actor=user, data={"session": session_id})
    return Response(status_code=204)
