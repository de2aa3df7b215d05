"""The conversation of an assignment: messages, 催办 and leaders' 批示, insert-only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from duban.db import Base, UTCDateTime, utcnow
from duban.models.user import User


class AssignmentMessage(Base):
    """One entry of an assignment's conversation; `kind` is message, urge or instruction."""

    __tablename__ = "assignment_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(16), default="message")
    body: Mapped[str] = mapped_column(Text())
    # Evidence rows of the same assignment (the evidence store, reused) and users told by @name.
    evidence_ids: Mapped[list[int]] = mapped_column(JSON(), default=list)
    mentioned_ids: Mapped[list[int]] = mapped_column(JSON(), default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")


class LeaderDepartment(Base):
    """A leader (分管领导) and one department in their remit."""

    __tablename__ = "leader_department"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), primary_key=True)
