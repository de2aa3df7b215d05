"""Policy drafts: an uploaded text, its parse, the clerk's corrections and their log, until published."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from duban.db import Base, UTCDateTime, utcnow


class PolicyDraft(Base):
    """A document being checked before 交办; `lock_version` guards against silent overwrites."""

    __tablename__ = "policy_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    source_name: Mapped[str] = mapped_column(String(255), default="")
    source_text: Mapped[str] = mapped_column(Text())
    parsed: Mapped[dict[str, Any]] = mapped_column(JSON())
    corrected: Mapped[dict[str, Any]] = mapped_column(JSON())
    cadence: Mapped[str] = mapped_column(String(16), default="quarterly")
    lock_version: Mapped[int] = mapped_column(default=1)
    policy_key: Mapped[str | None] = mapped_column(String(100), default=None)
    base_policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id"), default=None)
    published_policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id"), default=None)
    published_version: Mapped[int | None] = mapped_column(default=None)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    changes: Mapped[list[PolicyDraftChange]] = relationship(
        back_populates="draft", order_by="PolicyDraftChange.id"
    )


class PolicyDraftChange(Base):
    """One correction of a draft: who, when, what (insert-only)."""

    __tablename__ = "policy_draft_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("policy_draft.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    actor_label: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(String(500), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON(), default=dict)

    draft: Mapped[PolicyDraft] = relationship(back_populates="changes")
