"""Sign-in and sign-out pages, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from duban.errors import DomainError, Invalid
from duban.services.user import set_locale
from web.deps import OptionalUser, SessionDep
from web.i18n import normalize_locale, t
from web.rendering import render
from web.schemas import FormModel
from web.signin import end_session, start_session, verify_credentials

router = APIRouter(include_in_schema=False)


class LoginForm(FormModel):
    """The sign-in form."""

    username: str = ""
    password: str = ""
    next: str = ""


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
def login(request: Request, session: SessionDep, form: Annotated[LoginForm, Form()]) -> Response:
    """Check the credentials, then start a session and go on; re-show the form on failure."""
    try:
        user = verify_credentials(request, session, form.username, form.password)
    except DomainError as exc:
        ctx = {"next": safe_next(form.next), "username": form.username, "error": exc.message}
        return render(request, "auth/login.html", ctx, status_code=exc.status)
    start_session(request, user)
    return RedirectResponse(safe_next(form.next), status_code=303)


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
