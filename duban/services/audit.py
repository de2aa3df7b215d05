"""The audit trail: events outside an assignment's timeline, the chain's head, and a walk that finds
the first event that was altered."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.models import AuditChain, AuditEvent, User
from duban.models.audit import CHAIN_ROW, GENESIS, hash_of

_BATCH = 2000


@dataclass(frozen=True)
class ChainHead:
    """Where the chain stands: the number of events and the last one's hash."""

    seq: int
    hash: str


@dataclass(frozen=True)
class ChainReport:
    """The result of a walk: events checked, and the first broken one with why (None if intact)."""

    checked: int
    head: ChainHead
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        """Return whether every event and the head agree."""
        return self.broken_seq is None


def chain_head(*, session: Session) -> ChainHead:
    """Return the chain's head as stored (GENESIS at 0 before the first event)."""
    row = session.get(AuditChain, CHAIN_ROW)
    return ChainHead(row.seq, row.head_hash) if row else ChainHead(0, GENESIS)


def _events(session: Session) -> Iterator[AuditEvent]:
    after = -1
    while True:
        batch = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq).limit(_BATCH)
        ).all()
        yield from batch
        if len(batch) < _BATCH:
            return
        after = batch[-1].seq
        session.expunge_all()


def verify_chain(*, session: Session) -> ChainReport:
    """Walk the chain in order and return the first event whose content or link was changed."""
    head = chain_head(session=session)
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    for e in _events(session):
        why = ""
        if e.seq != expected_seq:
            why = f"序号不连续：应为 {expected_seq}，实为 {e.seq}（有事件被删除或插入）"
        elif e.prev_hash != expected_prev:
            why = "与前一事件的链接不符（前一事件被删除、替换或本事件被移动）"
        elif hash_of(e) != e.hash:
            why = "内容与其哈希不符（事件被修改）"
        if why:
            return ChainReport(checked, head, e.seq, e.id, why)
        expected_prev, expected_seq, checked = e.hash, e.seq + 1, checked + 1
    if (head.seq, head.hash) != (checked, expected_prev):
        return ChainReport(
            checked, head, checked + 1, None, "链头与最后一个事件不符（末尾事件被删除）"
        )
    return ChainReport(checked, head)


def record_event(
    *,
    session: Session,
    kind: str,
    actor: User | None,
    data: dict[str, Any],
    assignment_id: int | None = None,
) -> AuditEvent:
    """Add one audit event to the caller's transaction, so it commits with the change."""
    event = AuditEvent(
        # Each of these happens once per call: a fresh key, never an idempotent repeat.
        key=f"{kind}:{uuid.uuid4().hex}",
        kind=kind,
        actor_id=actor.id if actor else None,
        actor_label=(actor.display_name or actor.username) if actor else "",
        assignment_id=assignment_id,
        data=data,
    )
    session.add(event)
    session.flush()
    return event
