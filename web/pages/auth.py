"""Sign-in and sign-out pages, and the language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from duban.errors import DomainError, Invalid
from duban.models import User
from duban.services import two_factor
from duban.services.user import change_own_password, set_locale
from web.deps import CurrentUser, OptionalUser, SessionDep, must_change_password
from web.i18n import normalize_locale, t
from web.rendering import render
from web.schemas import FormModel
from web.signin import (
    begin_browser_session,
    check_password,
    end_session,
    remember_pending,
    start_session,
)

router = APIRouter(include_in_schema=False)


class LoginForm(FormModel):
    """The sign-in form."""

    username: str = ""
    password: str = ""
    next: str = ""


class PasswordForm(FormModel):
    """Change one's own password."""

    current_password: str = ""
    new_password: str = ""
    confirm_password: str = ""


class LocaleForm(FormModel):
    """The 简/繁 switch."""

    lang: str
    next: str = "/"


def safe_next(target: str | None) -> str:
    """Return a local path to go to after a form, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str = "/") -> Response:
    """Show the sign-in form (signed-in users go straight on)."""
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "auth/login.html", {"next": safe_next(next), "username": ""})


@router.post("/login")
def login(request: Request, form: Annotated[LoginForm, Form()]) -> Response:
    """Check the credentials, then start a session and go on; re-show the form on failure."""
    try:
        user = check_password(request, form.username, form.password, via="page")
    except DomainError as exc:
        ctx = {"next": safe_next(form.next), "username": form.username, "error": exc.message}
        return render(request, "auth/login.html", ctx, status_code=exc.status)
    if two_factor.enrolled(user):
        remember_pending(request, user)
        target = "/login/2fa?next=" + quote(safe_next(form.next), safe="/")
        return RedirectResponse(target, status_code=303)
    begin_browser_session(request, user, second_factor=False)
    if must_change_password(request, user):
        return RedirectResponse("/account/password", status_code=303)
    return RedirectResponse(safe_next(form.next), status_code=303)


def forced_reason(request: Request, user: User) -> str | None:
    """Return why the password must change now (seeded account, expired), or None."""
    if not must_change_password(request, user):
        return None
    return t("auth.must_change") if user.must_change_password else t("auth.password_expired")


@router.get("/account/password")
def password_page(request: Request, user: CurrentUser) -> Response:
    """Show the change-password form (the only page of an account that must change it)."""
    return render(request, "auth/password.html", {"forced": forced_reason(request, user)})


@router.post("/account/password")
def change_password(
    request: Request, user: CurrentUser, session: SessionDep, form: Annotated[PasswordForm, Form()]
) -> Response:
    """Change one's own password: every session ends, this browser gets a fresh one."""
    try:
        if form.new_password != form.confirm_password:
            raise Invalid(t("auth.password_mismatch"))
        change_own_password(
            session=session, user=user, current=form.current_password, new=form.new_password
        )
    except DomainError as exc:
        ctx = {"forced": forced_reason(request, user), "error": exc.message}
        return render(request, "auth/password.html", ctx, status_code=exc.status)
    start_session(
        request, session, user, second_factor=getattr(request.state, "second_factor", False)
    )
    return RedirectResponse("/?password_changed=1", status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session and show the sign-in form."""
    end_session(request)
    return RedirectResponse("/login?signed_out=1", status_code=303)


@router.post("/locale")
def switch_locale(
    request: Request, session: SessionDep, user: OptionalUser, form: Annotated[LocaleForm, Form()]
) -> Response:
    """Switch between Simplified and Traditional; saved on the account when signed in."""
    locale = normalize_locale(form.lang)
    if locale is None:
        raise Invalid(t("error.invalid"))
    request.session["lang"] = locale
    if user is not None:
        set_locale(session=session, user=user, locale=locale)
    return RedirectResponse(safe_next(form.next), status_code=303)
