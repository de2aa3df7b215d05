"""Periodic jobs (APScheduler 3.x) run by exactly one process: the worker or `duban dev`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from actions.starter import start_policy
from actions.temporal import query_state
from activities.read_model import ReadModelActivities
from duban.db import utcnow
from duban.digest import send_digests
from duban.domain import AssignmentState
from duban.errors import NotFound
from duban.mailer import Mailer
from duban.messages import RecordInput, Snapshot
from duban.models import Assignment
from duban.services import score_table
from duban.services.policy import pending_policies
from duban.settings import Settings
from workflows.assignment import AssignmentStatus

log = logging.getLogger(__name__)

RECONCILE_JOB_ID = "reconcile-read-model"
RECONCILE_EVERY = timedelta(minutes=15)
RECONCILE_CONCURRENCY = 16
DIGEST_JOB_ID = "digest"
SCORES_JOB_ID = "score-table"
SCORES_EVERY = timedelta(minutes=5)
DIGEST_HOUR = 8
DIGEST_TIMEZONE = "Asia/Shanghai"
COMPARED = ("state", "period_index", "due_at", "original_due_at", "escalation_level")


@dataclass(frozen=True)
class MirrorRow:
    """An assignment row as the read model holds it."""

    id: int
    workflow_id: str
    state: str
    period_index: int
    due_at: datetime | None
    original_due_at: datetime | None
    escalation_level: int


@dataclass(frozen=True)
class ReconcileReport:
    """What one reconciliation pass saw and did."""

    checked: int = 0
    drifted: int = 0
    fixed: int = 0
    missing: int = 0
    started: int = 0


def drift(row: MirrorRow, status: AssignmentStatus) -> dict[str, tuple[Any, Any]]:
    """Return the mirrored fields that differ, as {name: (read model, workflow)}."""
    return {
        name: (getattr(row, name), getattr(status, name))
        for name in COMPARED
        if getattr(row, name) != getattr(status, name)
    }


def open_rows(session_factory: sessionmaker[Session]) -> list[MirrorRow]:
    """Return the assignments whose workflow should still be running."""
    with session_factory() as session:
        found = session.execute(
            select(
                Assignment.id,
                Assignment.workflow_id,
                Assignment.state,
                Assignment.period_index,
                Assignment.due_at,
                Assignment.original_due_at,
                Assignment.escalation_level,
            )
            .where(
                Assignment.state != AssignmentState.COMPLETED, Assignment.pending_start.is_(False)
            )
            .order_by(Assignment.id)
        ).all()
    return [MirrorRow(*r) for r in found]


def correction(row: MirrorRow, status: AssignmentStatus, at: datetime) -> RecordInput:
    """Return the read-model step that sets `row` to the workflow's state, keyed by the drift."""
    diff = drift(row, status)
    fingerprint = ",".join(f"{k}={old}>{new}" for k, (old, new) in sorted(diff.items()))
    return RecordInput(
        key=f"reconcile:{row.workflow_id}:{fingerprint}",
        assignment_id=row.id,
        kind="reconciled",
        at=at,
        snapshot=Snapshot(
            state=status.state,
            period_index=status.period_index,
            due_at=status.due_at,
            original_due_at=status.original_due_at,
            escalation_level=status.escalation_level,
        ),
        actor="系统对账",
        data={k: [str(old), str(new)] for k, (old, new) in diff.items()},
    )


async def _check(
    client: Client, activities: ReadModelActivities, row: MirrorRow, gate: asyncio.Semaphore
) -> str:
    async with gate:
        try:
            status = await query_state(client, row.workflow_id)
        except NotFound:
            return "missing"
    if not drift(row, status):
        return "ok"
    log.warning("read model drift on %s: %s", row.workflow_id, drift(row, status))
    fixed = await asyncio.to_thread(activities.record, correction(row, status, utcnow()))
    return "fixed" if fixed else "drifted"


async def start_pending(
    client: Client, session_factory: sessionmaker[Session], settings: Settings
) -> int:
    """Start the workflows of every policy an import left unstarted; return the tasks started.

    An import that crashed or lost Temporal after its commit leaves its assignments pending
    (hidden from the web). Starting is idempotent (workflow ids are deterministic), so a
    task that did start meanwhile only has its rows shown.
    """
    with session_factory() as session:
        keys = pending_policies(session=session)
    started = 0
    for key in keys:
        try:
            report = await start_policy(
                client, session_factory=session_factory, settings=settings, policy_key=key
            )
        except Exception:  # one policy's failure must not stop the others or the check below
            log.exception("could not start the pending workflows of policy %s", key)
            continue
        log.warning("reconciliation started pending policy %s: %s", key, report)
        started += report.started
    return started


async def reconcile(
    client: Client,
    session_factory: sessionmaker[Session],
    *,
    concurrency: int = RECONCILE_CONCURRENCY,
    settings: Settings | None = None,
) -> ReconcileReport:
    """Start what imports left pending (given `settings`), then rewrite rows that drifted."""
    started = await start_pending(client, session_factory, settings) if settings else 0
    rows = await asyncio.to_thread(open_rows, session_factory)
    activities = ReadModelActivities(session_factory)
    gate = asyncio.Semaphore(concurrency)
    outcomes = await asyncio.gather(*(_check(client, activities, r, gate) for r in rows))
    report = ReconcileReport(
        checked=len(rows),
        drifted=sum(o in {"fixed", "drifted"} for o in outcomes),
        fixed=outcomes.count("fixed"),
        missing=outcomes.count("missing"),
        started=started,
    )
    log.info("reconciliation: %s", report)
    return report


async def run_digest(settings: Settings, session_factory: sessionmaker[Session]) -> int:
    """Send each person's daily digest when SMTP_URL is set; return how many mails went out."""
    if not settings.smtp_url:
        log.info("digest skipped: SMTP_URL is not set, notifications stay in-app")
        return 0
    mailer = Mailer(settings.smtp_url, settings.mail_from)
    sent = await send_digests(session_factory, mailer, base_url=settings.public_url())
    log.info("digest: %d mails sent", sent)
    return sent


def refresh_scores(session_factory: sessionmaker[Session]) -> int:
    """Bring the score table up to the audit chain (DESIGN.md, "Scores at scale"), so a page
    finds little to catch up; return how many assignments were rebuilt."""
    with session_factory.begin() as session:
        rebuilt = score_table.refresh(session=session, now=utcnow())
    if rebuilt:
        log.info("score table: %d assignments rebuilt", rebuilt)
    return rebuilt


async def run_score_refresh(session_factory: sessionmaker[Session]) -> int:
    """The score-table job: `refresh_scores` off the event loop."""
    return await asyncio.to_thread(refresh_scores, session_factory)


def build_scheduler(
    *, client: Client, settings: Settings, session_factory: sessionmaker[Session]
) -> AsyncIOScheduler:
    """Return the (not yet started) scheduler with duban's periodic jobs."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        reconcile,
        "interval",
        seconds=RECONCILE_EVERY.total_seconds(),
        args=(client, session_factory),
        kwargs={"settings": settings},
        id=RECONCILE_JOB_ID,
        name="read-model reconciliation",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        next_run_time=utcnow() + timedelta(minutes=1),
    )
    scheduler.add_job(
        run_score_refresh,
        "interval",
        seconds=SCORES_EVERY.total_seconds(),
        args=(session_factory,),
        id=SCORES_JOB_ID,
        name="score table",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        next_run_time=utcnow() + timedelta(seconds=30),
    )
    scheduler.add_job(
        run_digest,
        "cron",
        hour=DIGEST_HOUR,
        minute=0,
        timezone=DIGEST_TIMEZONE,
        args=(settings, session_factory),
        id=DIGEST_JOB_ID,
        name="daily e-mail digest",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
    return scheduler
