"""In-app notifications; e-mail digests are built from the unsent ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base, UTCDateTime, utcnow


class Notification(Base):
    """A message to one user; `key` makes a repeated write insert nothing.

    A workflow's notice stores `code` and `params` (duban.messages.NOTICE_TEXTS) and no title:
    its text is rendered for the reader. Other rows (and rows from before codes) hold text.
    """

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text(), default="")
    code: Mapped[str] = mapped_column(String(48), default="", server_default="")
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON(), default=None)
    link: Mapped[str] = mapped_column(String(500), default="")
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
