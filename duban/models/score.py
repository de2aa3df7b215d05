"""The score table: each assessment period's scored facts, their tallies, and how far they reach.

A cache of `duban.services.assessment.load_outcomes`, kept by `duban.services.score_table`: it
is rebuilt for the assignments whose audit events came after its watermark, so the ranking and
the ledger read a few hundred tallies instead of every event (DESIGN.md, "Scores at scale").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base, UTCDateTime


class PeriodScore(Base):
    """One assignment period as the rubric sees it, recorded by the watermark's audit event."""

    __tablename__ = "period_score"
    __table_args__ = (
        Index(
            "ix_period_score_department",
            "department_id",
            "quarter",
            "assignment_id",
            "period_index",
        ),
    )

    assignment_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    period_index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    department_id: Mapped[int] = mapped_column()
    quarter: Mapped[str] = mapped_column(String(8))  # of original_due_at, China time: 2026Q4
    official: Mapped[str | None] = mapped_column(String(100), default=None)
    official_name: Mapped[str | None] = mapped_column(String(200), default=None)
    task_number: Mapped[int] = mapped_column()
    role: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(100), default="")
    historic: Mapped[bool] = mapped_column()
    approved: Mapped[bool] = mapped_column()
    rating: Mapped[int | None] = mapped_column(default=None)
    # Whole days late of a closed period; None while it is open (then due_at decides, by as_of).
    late_days: Mapped[int | None] = mapped_column(default=None)
    open_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    original_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    levels: Mapped[str] = mapped_column(String(16), default="")  # escalation rungs: "1,2"
    extensions: Mapped[int] = mapped_column(default=0)
    returns: Mapped[int] = mapped_column(default=0)
    targets_met: Mapped[int] = mapped_column(default=0)
    targets_reported: Mapped[int] = mapped_column(default=0)
    event_ids: Mapped[list[int]] = mapped_column(JSON())
    events_by_rule: Mapped[dict[str, Any]] = mapped_column(JSON())


class ScoreTally(Base):
    """How many periods of a department and quarter share the same scored facts."""

    __tablename__ = "score_tally"
    __table_args__ = (Index("ix_score_tally_quarter", "quarter", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quarter: Mapped[str] = mapped_column(String(8))
    department_id: Mapped[int] = mapped_column()
    official: Mapped[str | None] = mapped_column(String(100), default=None)
    official_name: Mapped[str | None] = mapped_column(String(200), default=None)
    role: Mapped[str] = mapped_column(String(8))
    historic: Mapped[bool] = mapped_column()
    approved: Mapped[bool] = mapped_column()
    rating: Mapped[int | None] = mapped_column(default=None)
    late_days: Mapped[int | None] = mapped_column(default=None)
    open_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    levels: Mapped[str] = mapped_column(String(16), default="")
    extensions: Mapped[int] = mapped_column(default=0)
    returns: Mapped[int] = mapped_column(default=0)
    targets_met: Mapped[int] = mapped_column(default=0)
    targets_reported: Mapped[int] = mapped_column(default=0)
    periods: Mapped[int] = mapped_column()


class ScoreWatermark(Base):
    """The one row (id 1): the audit chain's `seq` the score table has caught up with, and the
    fingerprint of each unit's head terms it was built under (JSON: unit id -> hash)."""

    __tablename__ = "score_watermark"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(default=0)
    terms: Mapped[str] = mapped_column(Text(), default="")
