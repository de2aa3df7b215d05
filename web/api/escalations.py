"""`/api/v1/escalations`: the rungs reached on the ladder (supervisors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from duban.services.review import escalation_inbox
from web.deps import SessionDep
from web.supervisor_schemas import EscalationRead, SupervisorUser

router = APIRouter(prefix="/api/v1/escalations", tags=["supervision"])


@router.get("", response_model=list[EscalationRead])
def list_escalations(
    user: SupervisorUser,
    session: SessionDep,
    level: Annotated[int | None, Query(ge=1, le=3)] = None,
    include_resolved: bool = False,
) -> list[EscalationRead]:
    """Return open rungs (all with include_resolved), highest level and newest first."""
    rows = escalation_inbox(session=session, level=level, open_only=not include_resolved)
    return [EscalationRead.of(row) for row in rows]
