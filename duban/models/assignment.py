"""Assignments (task x department) and what the workflows record about them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from duban.db import Base, UTCDateTime, utcnow
from duban.models.department import Department
from duban.models.policy import Policy


class Assignment(Base):
    """One task x one department; a mirror of its AssignmentWorkflow's state."""

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("policy_id", "item_number", "department_id"),
        Index("ix_assignment_state", "state"),
        # Submitted and started: the review queue's count (with ix_submission_pending).
        Index(
            "ix_assignment_submitted",
            "id",
            "period_index",
            postgresql_where=text("state = 'submitted' AND pending_start IS false"),
            sqlite_where=text("state = 'submitted' AND pending_start IS 0"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"))
    item_number: Mapped[int]
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    role: Mapped[str] = mapped_column(String(8))
    as_written: Mapped[str] = mapped_column(String(200), default="")
    workflow_id: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="assigned")
    period_index: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    original_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    escalation_level: Mapped[int] = mapped_column(default=0)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set when a later version of the policy no longer lists this task x department; kept, not deleted.
    removed_in_version: Mapped[int | None] = mapped_column(default=None)
    # True from import until the start of its task workflow is confirmed: the web hides the
    # row meanwhile (an import whose workflows never ran shows nothing), and reconciliation
    # starts what is still pending.
    pending_start: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The named member (承办人) the department head handed the assignment to; None: the whole unit.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    # A sub-assignment (转办/分解) names the assignment it was split from, and its share (0–100 %)
    # of that assignment's targets; its due date is never later than the parent's.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignment.id"), default=None, index=True
    )
    target_share: Mapped[int | None] = mapped_column(default=None)
    # A supervisor let the parent be submitted as done while children are still open.
    cascade_waived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cascade_waived_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id"), default=None
    )

    policy: Mapped[Policy] = relationship(lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")
    periods: Mapped[list[AssignmentPeriod]] = relationship(
        back_populates="assignment", order_by="AssignmentPeriod.index"
    )


class AssignmentPeriod(Base):
    """A reporting period of an assignment with its due date; `historic` ones never escalate."""

    __tablename__ = "assignment_period"
    __table_args__ = (
        UniqueConstraint("assignment_id", "index"),
        Index("ix_assignment_period_historic_original_due_at", "historic", "original_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"))
    index: Mapped[int]
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    original_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(16), default="cadence")
    label: Mapped[str] = mapped_column(String(200), default="")
    historic: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16), default="open")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    on_time: Mapped[bool | None] = mapped_column(default=None)
    rating: Mapped[int | None] = mapped_column(default=None)

    assignment: Mapped[Assignment] = relationship(back_populates="periods")


class Escalation(Base):
    """A rung of the ladder reached after a due date passed."""

    __tablename__ = "escalation"
    __table_args__ = (
        UniqueConstraint("assignment_id", "period_index", "level"),
        Index("ix_escalation_level_reached_at", "level", "reached_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"))
    period_index: Mapped[int]
    level: Mapped[int]
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Extension(Base):
    """A department's request for a later due date and the supervisor's decision."""

    __tablename__ = "extension"
    __table_args__ = (Index("ix_extension_state_requested_at", "state", "requested_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    period_index: Mapped[int]
    requested_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text())
    state: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    granted_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decision_comment: Mapped[str] = mapped_column(Text(), default="")
