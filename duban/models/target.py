"""Targets (指标) of a task, published from the reviewed draft, and the actuals reported against them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base


class TaskTarget(Base):
    """One quantitative target of a task (a policy item of one version), as the clerk confirmed it.

    Every assignment of the task reports against it; `direction` is at_least, at_most, reach or
    increase_by; `scope` how it counts (每年, 每县, 累计).
    """

    __tablename__ = "task_target"
    __table_args__ = (UniqueConstraint("item_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("policy_item.id"), index=True)
    position: Mapped[int]
    text: Mapped[str] = mapped_column(String(200), default="")
    value: Mapped[float] = mapped_column(Float())
    unit: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str | None] = mapped_column(String(32), default=None)
    deadline_date: Mapped[date | None] = mapped_column(Date(), default=None)


class TargetActual(Base):
    """The actual value a submission reports for one target of its assignment."""

    __tablename__ = "target_actual"
    __table_args__ = (UniqueConstraint("submission_id", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("task_target.id"), index=True)
    value: Mapped[float] = mapped_column(Float())
