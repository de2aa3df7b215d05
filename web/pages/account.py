"""The second sign-in step, second-factor enrolment and one's own list of sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import func, select
from starlette.responses import RedirectResponse, Response

from duban.db import utcnow
from duban.errors import DomainError, NotFound
from duban.models import RecoveryCode, User
from duban.services import two_factor
from duban.services.audit import record_event
from duban.services.login_session import end_session_of, is_current, user_sessions
from web.deps import SESSION_USER_KEY, CurrentUser, SessionDep, must_change_password
from web.i18n import t
from web.rendering import render
from web.schemas import FormModel, RowId
from web.signin import PENDING_KEY, begin_browser_session, check_second_factor, pending_user_id

router = APIRouter(include_in_schema=False)


class CodeForm(FormModel):
    """A TOTP or recovery code."""

    code: str = ""
    next: str = ""


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login/2fa")
def second_factor_page(request: Request, next: str = "/") -> Response:
    """Ask for the code after a right password (back to /login when nobody is waiting)."""
    if pending_user_id(request) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "auth/second_factor.html", {"next": _safe_next(next)})


@router.post("/login/2fa")
def second_factor(request: Request, form: Annotated[CodeForm, Form()]) -> Response:
    """Check the code; a right one starts the session (throttled and audited like passwords)."""
    user_id = pending_user_id(request)
    if user_id is None:
        return RedirectResponse("/login", status_code=303)
    try:
        user = check_second_factor(request, user_id, form.code, via="page")
    except DomainError as exc:
        ctx = {"next": _safe_next(form.next), "error": exc.message}
        return render(request, "auth/second_factor.html", ctx, status_code=exc.status)
    request.session.pop(PENDING_KEY, None)
    begin_browser_session(request, user, second_factor=True)
    if must_change_password(request, user):
        return RedirectResponse("/account/password", status_code=303)
    return RedirectResponse(_safe_next(form.next), status_code=303)


def _codes_left(session: SessionDep, user: User) -> int:
    stmt = select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return int(session.scalar(stmt) or 0)


def _enrol_context(request: Request, session: SessionDep, user: User) -> dict[str, object]:
    if two_factor.enrolled(user):
        return {"enabled": True, "codes_left": _codes_left(session, user)}
    key = request.app.state.settings.secret_key
    secret = two_factor.begin_enrolment(session=session, user=user, key=key)
    forced = two_factor.required_for(user)
    return {"secret": secret, "uri": two_factor.provisioning_uri(user, secret), "forced": forced}


@router.get("/account/2fa")
def enrol_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """Show the secret and otpauth URI to enrol, or that the factor is on."""
    return render(request, "auth/enrol.html", _enrol_context(request, session, user))


@router.post("/account/2fa")
def enrol(
    request: Request, user: CurrentUser, session: SessionDep, form: Annotated[CodeForm, Form()]
) -> Response:
    """Confirm enrolment with a code; show the recovery codes once. This session counts as
    having shown the factor."""
    codes = None
    if not two_factor.enrolled(user):
        key = request.app.state.settings.secret_key
        codes = two_factor.confirm_enrolment(
            session=session, user=user, code=form.code, now=utcnow(), key=key
        )
    if codes is None:
        ctx = _enrol_context(request, session, user) | {"error": t("auth.bad_code")}
        return render(request, "auth/enrol.html", ctx, status_code=422)
    _mark_second_factor(request, session, user)
    return render(request, "auth/enrol.html", {"codes": codes})


def _mark_second_factor(request: Request, session: SessionDep, user: User) -> None:
    token = request.session.get(SESSION_USER_KEY)
    for row in user_sessions(session=session, user_id=user.id, now=utcnow()):
        if is_current(row, token if isinstance(token, str) else None):
            row.second_factor = True


@router.get("/account/sessions")
def sessions_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """List one's own live sessions: created, last seen, address, browser; end any other."""
    token = request.session.get(SESSION_USER_KEY)
    rows = [
        {
            "id": row.id,
            "created_at": row.created_at,
            "last_seen_at": row.last_seen_at,
            "ip": row.ip,
            "user_agent": row.user_agent,
            "current": is_current(row, token if isinstance(token, str) else None),
        }
        for row in user_sessions(session=session, user_id=user.id, now=utcnow())
    ]
    return render(request, "auth/sessions.html", {"sessions": rows})


@router.post("/account/sessions/{session_id}/end")
def end_one_session(
    session_id: RowId, user: CurrentUser, session: SessionDep, form: Annotated[FormModel, Form()]
) -> Response:
    """End one of one's own sessions (404 for anyone else's); audited."""
    if not end_session_of(session=session, user_id=user.id, session_id=session_id):
        raise NotFound(t("error.not_found"))
    record_event(session=session, kind="session_ended", actor=user, data={"session": session_id})
    return RedirectResponse("/account/sessions?ended=1", status_code=303)
