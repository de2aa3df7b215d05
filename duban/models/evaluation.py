"""Assessment records: stored rubric versions and frozen, insert-only evaluations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base, UTCDateTime, utcnow


class RubricVersion(Base):
    """One accepted rubric text; the newest row is in force, older rows stay for the record."""

    __tablename__ = "rubric_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(Text())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    created_by_label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Evaluation(Base):
    """A compiled period pinned by its digest; rows are never updated or deleted."""

    __tablename__ = "evaluation"
    __table_args__ = (UniqueConstraint("period", "by", "digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(8))
    by: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64))
    rubric_version: Mapped[str] = mapped_column(String(64))
    rubric_fingerprint: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[datetime] = mapped_column(UTCDateTime())
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    created_by_label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The audit chain's head when it was frozen: the record it was computed from (0/"" before).
    chain_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    chain_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")
