"""Departments: the canonical responsible units, keyed by a stable code."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base


class Department(Base):
    """A canonical unit such as 省扶贫办; `code` is used in workflow ids and URLs."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    known: Mapped[bool] = mapped_column(default=True)
    # The organisation tree (issue 15, 层层分解): the unit above this one, if any.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id"), default=None, index=True
    )
    # `government` (人民政府 of a level), `department` (a 厅/局/委) or `division` (内设处室); "" unset.
    kind: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # For governments: `province`, `city`, `county` or `township`; "" otherwise.
    level: Mapped[str] = mapped_column(String(16), default="", server_default="")
