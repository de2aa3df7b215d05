"""One-time recovery codes for the TOTP second factor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base, UTCDateTime


class RecoveryCode(Base):
    """A recovery code, stored as its SHA-256 (80 random bits); `used_at` ends it."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
