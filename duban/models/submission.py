"""Submissions: progress reports of a period, with evidence, and their review."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from duban.db import Base, UTCDateTime, utcnow
from duban.models.evidence import Evidence

submission_evidence = Table(
    "submission_evidence",
    Base.metadata,
    Column("submission_id", ForeignKey("submission.id"), primary_key=True),
    Column("evidence_id", ForeignKey("evidence.id"), primary_key=True),
)


class Submission(Base):
    """A report for one period; `key` is the Update id, so a repeat inserts nothing."""

    __tablename__ = "submission"
    __table_args__ = (
        Index("ix_submission_assignment_id", "assignment_id", "period_index"),
        Index("ix_submission_state", "state"),
        Index("ix_submission_state_submitted_at", "state", "submitted_at", "id"),
        # The review queue's count: with ix_assignment_submitted, a merge of two index-only scans.
        Index(
            "ix_submission_pending",
            "assignment_id",
            "period_index",
            postgresql_where=text("state = 'submitted'"),
            sqlite_where=text("state = 'submitted'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"))
    period_index: Mapped[int]
    report: Mapped[str] = mapped_column(Text())
    state: Mapped[str] = mapped_column(String(16), default="submitted")
    late: Mapped[bool] = mapped_column(default=False)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rating: Mapped[int | None] = mapped_column(default=None)
    review_comment: Mapped[str] = mapped_column(Text(), default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The answers to the task's report template, by field name (issue 15); None without one.
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON(), default=None)

    evidence: Mapped[list[Evidence]] = relationship(secondary=submission_evidence)
