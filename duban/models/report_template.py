"""Report templates (issue 15): what each period's report of a task must hold."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base, UTCDateTime, utcnow


class ReportTemplate(Base):
    """A task's report form (typed fields) and the kinds of evidence each report must carry."""

    __tablename__ = "report_template"
    __table_args__ = (UniqueConstraint("policy_id", "item_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"))
    item_number: Mapped[int]
    # [{"name", "label", "type", "required", "unit", "choices"}], checked by duban.rules.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON(), default=list)
    evidence_kinds: Mapped[list[str]] = mapped_column(JSON(), default=list)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
