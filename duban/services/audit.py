"""Audit events of actions outside an assignment's timeline: accounts, sign-ins, downloads, freezes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from duban.models import AuditEvent, User


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
