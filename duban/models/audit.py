"""The audit trail: insert-only events, also the timeline of an assignment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """Something that happened; `key` makes a repeated write insert nothing."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(48))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    actor_label: Mapped[str] = mapped_column(String(100), default="")
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id"), default=None)
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignment.id"), default=None, index=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON(), default=dict)
