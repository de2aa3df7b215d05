"""Signed-in browser sessions, kept server-side so logout and password changes end them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base, UTCDateTime, utcnow


class LoginSession(Base):
    """One signed-in browser; the cookie holds a random id whose SHA-256 is `token_hash`."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # For the owner's list of sessions and the idle limit (updated at most once a minute).
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    # Whether the sign-in proved a second factor (TOTP or a recovery code).
    second_factor: Mapped[bool] = mapped_column(default=False)
