"""Evidence: uploaded files, content-addressed by SHA-256, insert-only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base, UTCDateTime, utcnow


class Evidence(Base):
    """One file attached to an assignment; the bytes live at sha256[:2]/sha256."""

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("assignment_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
