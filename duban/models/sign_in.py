"""Failed sign-ins: kept in the database so the throttle holds across web replicas and restarts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base, UTCDateTime


class SignInFailure(Base):
    """One sign-in attempt for a username (as typed, folded; it need not exist) from an address.

    A row is written before the password is checked and removed when it proves right, so
    concurrent attempts see each other and the count cannot be raced past.
    """

    __tablename__ = "sign_in_failure"
    __table_args__ = (
        Index("ix_sign_in_failure_key", "username", "ip", "failed_at"),
        Index("ix_sign_in_failure_ip", "ip", "failed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
