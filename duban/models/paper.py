"""Formal papers (督办通知单, 催办通知单, 办结报告): one stable number per record, unique per year."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base, UTCDateTime, utcnow


class PaperNumber(Base):
    """The number a paper got the first time it was issued; `source_key` names its record."""

    __tablename__ = "paper_number"
    __table_args__ = (UniqueConstraint("kind", "year", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    year: Mapped[int]
    serial: Mapped[int]
    # e.g. "notice:assignment:12", "urge:event:345": the same record always gets this number.
    source_key: Mapped[str] = mapped_column(String(100), unique=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
