"""Departments: the canonical responsible units, keyed by a stable code."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from duban.db import Base


class Department(Base):
    """A canonical unit such as 省扶贫办; `code` is used in workflow ids and URLs."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    known: Mapped[bool] = mapped_column(default=True)
