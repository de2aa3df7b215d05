"""Users: people who sign in, with a role and (for department roles) a department."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from duban.db import Base, UTCDateTime, utcnow
from duban.models.department import Department


class User(Base):
    """A person; `role` is a duban.domain.UserRole value."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), default=None)
    locale: Mapped[str | None] = mapped_column(String(16), default=None)
    ical_token: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    digest_email: Mapped[bool] = mapped_column(default=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Seeded accounts (demo users, a generated admin password) must pick their own password.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # When the password was last set (NULL: at created_at), for DUBAN_PASSWORD_MAX_AGE_DAYS.
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # TOTP second factor: the base32 secret, sealed (duban.secretbox: encrypted under
    # DUBAN_SECRET_KEY; set at enrolment, confirmed when enabled_at is set), and the last
    # 30-second step accepted, so a code works once.
    totp_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    department: Mapped[Department | None] = relationship(lazy="joined")
