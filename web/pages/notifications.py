"""Notifications: the list, marking read, the polled bell and one's mail preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from duban.db import utcnow
from duban.errors import Invalid
from duban.models import User
from duban.services.notification import list_for_user, mark_read, set_preferences, unread_count
from web.deps import CurrentUser, OptionalUser, SessionDep
from web.rendering import render
from web.schemas import FormModel, RowId

router = APIRouter(include_in_schema=False)
BELL_EVERY = "30s"
# After this many polls without a page load (30 s each: half an hour) the bell stops polling.
BELL_MAX_POLLS = 60
STOP_POLLING = 286
FLASH = "flash"


class ReadForm(FormModel):
    """Mark the listed ids read, or all when none is given."""

    ids: list[RowId] = Field(default_factory=list, max_length=1000)


class PreferencesForm(FormModel):
    """One's mail address and whether the daily digest is wanted."""

    email: str = Field(default="", max_length=400)
    digest_email: str = ""


def _page(request: Request, session: Session, user: User, **extra: object) -> dict[str, object]:
    return {
        "notes": list_for_user(session=session, user_id=user.id, limit=100),
        "unread": unread_count(session=session, user_id=user.id),
        "me": user,
        "flash": request.session.pop(FLASH, None),
        **extra,
    }


@router.get("/notifications")
def notifications_page(request: Request, user: CurrentUser, session: SessionDep) -> Response:
    """Show one's notifications, newest first, and the mail preferences."""
    ctx = _page(request, session, user)
    return render(request, "notifications/index.html", ctx, block="list")


@router.post("/notifications/read")
def read_notifications(
    request: Request, form: Annotated[ReadForm, Form()], user: CurrentUser, session: SessionDep
) -> Response:
    """Mark notifications read and go back to the list."""
    mark_read(session=session, user_id=user.id, at=utcnow(), ids=form.ids or None)
    if request.headers.get("hx-request") == "true":
        return render(
            request, "notifications/index.html", _page(request, session, user), block="list"
        )
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/preferences")
def save_preferences(
    request: Request,
    form: Annotated[PreferencesForm, Form()],
    user: CurrentUser,
    session: SessionDep,
) -> Response:
    """Save one's mail address and digest switch (422 with the reason when invalid)."""
    try:
        with session.begin_nested():
            set_preferences(
                session=session, user=user, email=form.email, digest_email=bool(form.digest_email)
            )
    except Invalid as exc:
        ctx = _page(request, session, user, error=exc.message, email_value=form.email)
        return render(request, "notifications/index.html", ctx, status_code=422)
    request.session[FLASH] = "设置已保存。"
    return RedirectResponse("/notifications", status_code=303)


@router.get("/notifications/bell")
def bell(
    request: Request,
    user: OptionalUser,
    session: SessionDep,
    n: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    """Return the bell with the unread count; 286 stops the polling when idle or signed out."""
    if user is None:
        return render(
            request, "notifications/_bell.html", {"poll": False}, status_code=STOP_POLLING
        )
    ctx = {
        "unread": unread_count(session=session, user_id=user.id),
        "poll": n < BELL_MAX_POLLS,
        "n": n + 1,
        "every": BELL_EVERY,
    }
    return render(
        request,
        "notifications/_bell.html",
        ctx,
        status_code=200 if ctx["poll"] else STOP_POLLING,
    )
