"""Policies, their immutable versions and their numbered items."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from duban.db import Base, UTCDateTime, utcnow


class Policy(Base):
    """One imported document; `key` names it in workflow ids (e.g. jilin-2021-…)."""

    __tablename__ = "policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    issued_date: Mapped[date | None] = mapped_column(Date(), default=None)
    current_version: Mapped[int] = mapped_column(default=1)
    # A per-policy switch (off by default): a report goes to the supervisors only once the
    # department head has signed it off.
    head_sign_off: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    versions: Mapped[list[PolicyVersion]] = relationship(
        back_populates="policy", order_by="PolicyVersion.version"
    )


class PolicyVersion(Base):
    """One text of a policy, kept forever; a changed document adds a version."""

    __tablename__ = "policy_version"
    __table_args__ = (
        UniqueConstraint("policy_id", "version"),
        UniqueConstraint("policy_id", "content_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"))
    version: Mapped[int]
    content_sha256: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(255), default="")
    source_text: Mapped[str] = mapped_column(Text())
    parsed: Mapped[dict[str, Any]] = mapped_column(JSON())
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    policy: Mapped[Policy] = relationship(back_populates="versions")
    # In the order they stand in the document (stored so): a split part follows its source.
    items: Mapped[list[PolicyItem]] = relationship(
        back_populates="version", order_by="PolicyItem.id"
    )


class PolicyItem(Base):
    """A numbered item of one version; a task when `is_task`."""

    __tablename__ = "policy_item"
    __table_args__ = (UniqueConstraint("version_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("policy_version.id"))
    number: Mapped[int]
    label: Mapped[str] = mapped_column(String(32), default="")
    section_number: Mapped[int]
    section_title: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(1000))
    body: Mapped[str] = mapped_column(Text())
    is_task: Mapped[bool]
    open_ended: Mapped[bool] = mapped_column(default=False)
    units: Mapped[list[dict[str, Any]]] = mapped_column(JSON(), default=list)
    deadlines: Mapped[list[dict[str, Any]]] = mapped_column(JSON(), default=list)

    version: Mapped[PolicyVersion] = relationship(back_populates="items")
