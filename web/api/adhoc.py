"""`/api/v1/adhoc-tasks`: a supervisor's 交办件, published and started like a one-item document."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from actions.clients import LazyTemporal
from actions.draft import actor_of, publish_and_start
from duban.db import release
from duban.models import Assignment, User
from duban.services.adhoc import AdhocSpec, create_adhoc_draft
from web.deps import IntakeUser, SessionDep, intake_of
from web.i18n import SHANGHAI
from web.schemas.conversation import AdhocCreate, AdhocRead

router = APIRouter(prefix="/api/v1", tags=["adhoc"])


def _draft(session: Session, spec: AdhocSpec, user: User) -> int:
    today = datetime.now(SHANGHAI).date()
    draft = create_adhoc_draft(session=session, spec=spec, actor=actor_of(user), today=today)
    release(session)  # the publish reads it in its own transaction
    return draft.id


async def create_adhoc(
    request: Request, session: Session, user: User, spec: AdhocSpec
) -> AdhocRead:
    """Check, store as a draft, publish and start an ad-hoc task; Temporal down: 503, nothing kept."""
    lazy: LazyTemporal = request.app.state.temporal
    await lazy.get()
    draft_id = await run_in_threadpool(_draft, session, spec, user)
    outcome = await publish_and_start(
        intake_of(request), draft_id=draft_id, lock_version=None, user=user
    )
    published = outcome.published
    ids = await run_in_threadpool(
        lambda: list(
            session.scalars(
                select(Assignment.id)
                .where(Assignment.policy_id == published.policy_id)
                .order_by(Assignment.id)
            )
        )
    )
    return AdhocRead(
        draft_id=draft_id,
        policy_id=published.policy_id,
        policy_key=published.policy_key,
        assignment_ids=ids,
        started=outcome.report.started,
    )


@router.post("/adhoc-tasks", response_model=AdhocRead, status_code=201)
async def create(
    request: Request, body: AdhocCreate, user: IntakeUser, session: SessionDep
) -> AdhocRead:
    """交办件: a task without a document, for the given units (the first leads), deadline, cadence."""
    spec = AdhocSpec(body.title, body.body, body.origin, body.units, body.deadline, body.cadence)
    return await create_adhoc(request, session, user, spec)
