"""The private iCalendar feed of a department's due dates and the page action that (re)creates its link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from duban.db import utcnow
from duban.services.assignment import inbox_scope
from duban.services.ical import build_calendar, ensure_ical_token, user_for_token
from web.deps import CurrentUser, SessionDep, SettingsDep
from web.schemas import FormModel

router = APIRouter(include_in_schema=False)


@router.post("/calendar/link")
def rotate_calendar_link(
    request: Request, form: Annotated[FormModel, Form()], user: CurrentUser, session: SessionDep
) -> Response:
    """Create or replace the user's private calendar link."""
    inbox_scope(user)
    ensure_ical_token(session=session, user=user, rotate=True)
    return RedirectResponse(str(request.url_for("inbox_page")) + "#calendar", status_code=303)


@router.get("/calendar/{token}.ics", name="ical_feed")
def ical_feed(request: Request, token: str, session: SessionDep, settings: SettingsDep) -> Response:
    """Serve the private iCalendar feed of the token's owner (no sign-in: the token is the key)."""
    user = user_for_token(session=session, token=token)
    base_url = settings.public_url(str(request.base_url))
    body = build_calendar(session=session, user=user, base_url=base_url, now=utcnow())
    headers = {
        "Cache-Control": "private, max-age=300",
        "Content-Disposition": 'inline; filename="duban.ics"',
    }
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)
