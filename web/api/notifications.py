"""`/api/v1/notifications`: one's own in-app messages; list and mark read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from duban.db import utcnow
from duban.services.notification import list_for_user, mark_read, unread_count
from web.deps import CurrentUser, SessionDep
from web.schemas import BodyRowId

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


class NotificationRead(BaseModel):
    """An in-app message."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    body: str
    link: str
    assignment_id: int | None
    created_at: datetime
    read_at: datetime | None


class MarkRead(BaseModel):
    """Mark these ids read (all of one's unread messages when omitted)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[BodyRowId] | None = Field(default=None, max_length=1000)


class MarkedRead(BaseModel):
    """How many were marked and how many stay unread."""

    marked: int
    unread: int


@router.get("", response_model=list[NotificationRead])
def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[NotificationRead]:
    """Return one's newest notifications."""
    rows = list_for_user(session=session, user_id=user.id, unread_only=unread, limit=limit)
    return [NotificationRead.model_validate(n) for n in rows]


@router.post("", response_model=MarkedRead)
def mark_notifications_read(body: MarkRead, user: CurrentUser, session: SessionDep) -> MarkedRead:
    """Mark one's notifications read; another user's ids are ignored."""
    marked = mark_read(session=session, user_id=user.id, at=utcnow(), ids=body.ids)
    return MarkedRead(marked=marked, unread=unread_count(session=session, user_id=user.id))
