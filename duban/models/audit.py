"""The audit trail: insert-only events in one hash chain, also the timeline of an assignment.

Every event holds the SHA-256 of its content and of the event before it (`prev_hash`), in the
order of `seq`. The chain is global rather than per policy: sign-ins, user changes and
evaluations belong to no policy, and one head is what an evaluation or an export can cite. Its
head lives in the one row of `audit_chain`; a flush with new events updates that row once for
all of them, which takes the row lock on PostgreSQL and the write lock on SQLite, so two
transactions can never both extend the same head. The price is that audit-writing transactions
commit one after another, each holding the head from that flush to its commit: a busy writer
adds its events last, after everything else is flushed (`activities.read_model`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, ForeignKey, String, event, insert, inspect, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from duban.db import Base, UTCDateTime, utcnow

GENESIS = "0" * 64
CHAIN_ROW = 1


class AuditEvent(Base):
    """Something that happened; `key` makes a repeated write insert nothing."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(48))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    actor_label: Mapped[str] = mapped_column(String(100), default="")
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policy.id"), default=None)
    assignment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assignment.id"), default=None, index=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON(), default=dict)
    seq: Mapped[int] = mapped_column(unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChain(Base):
    """The head of the audit chain: the last event's `seq` and `hash` (one row, id 1)."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    head_hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


def event_hash(
    prev_hash: str,
    *,
    seq: int,
    key: str,
    at: datetime,
    kind: str,
    actor_id: int | None,
    actor_label: str,
    policy_id: int | None,
    assignment_id: int | None,
    data: Any,
) -> str:
    """Return the SHA-256 of an event's content chained to the hash before it."""
    # The data as the JSON column gives it back (e.g. int keys become strings), so a stored row
    # hashes the same as the object that was written.
    stored = json.loads(json.dumps(data, default=str))
    content = [
        seq,
        key,
        at.astimezone(UTC).isoformat(timespec="microseconds"),
        kind,
        actor_id,
        actor_label,
        policy_id,
        assignment_id,
        stored,
    ]
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


@event.listens_for(Session, "before_flush")
def _chain(session: Session, _context: object, _instances: object) -> None:
    """Give the new events of a flush their places in the chain, however they were written."""
    new = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if new:
        new.sort(key=lambda obj: inspect(obj).insert_order or 0)  # the order they were added
        _place(session.connection(), new)


def _place(connection: Connection, events: list[AuditEvent]) -> None:
    """Move the chain's head past the events (taking its lock) and set their seq and hashes."""
    moved = update(AuditChain).where(AuditChain.id == CHAIN_ROW)
    step = moved.values(seq=AuditChain.seq + len(events))
    row = connection.execute(step.returning(AuditChain.seq, AuditChain.head_hash)).one_or_none()
    if row is None:  # a chain restored without its head row starts at the genesis
        connection.execute(insert(AuditChain).values(id=CHAIN_ROW, seq=0, head_hash=GENESIS))
        row = connection.execute(step.returning(AuditChain.seq, AuditChain.head_hash)).one()
    seq, head = int(row.seq) - len(events), str(row.head_hash)
    for target in events:
        # Python-side defaults are applied after this hook: set them now so the hash covers them.
        unset: dict[str, Any] = {"at": utcnow(), "actor_label": "", "data": {}}
        for name, value in unset.items():
            if getattr(target, name) is None:
                setattr(target, name, value)
        seq += 1
        target.seq, target.prev_hash = seq, head
        target.hash = head = hash_of(target)
    connection.execute(moved.values(head_hash=head))


def hash_of(e: AuditEvent) -> str:
    """Return the hash an event's content and link give: what it was written with, and what
    `duban audit verify` recomputes."""
    return event_hash(
        e.prev_hash,
        seq=e.seq,
        key=e.key,
        at=e.at,
        kind=e.kind,
        actor_id=e.actor_id,
        actor_label=e.actor_label,
        policy_id=e.policy_id,
        assignment_id=e.assignment_id,
        data=e.data,
    )
