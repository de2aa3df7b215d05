"""The daily digest: one mail per person with everything they were notified of since the last one."""

from __future__ import annotations

import logging

import aiosmtplib
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from duban.db import utcnow
from duban.mailer import Mailer
from duban.services import notification

log = logging.getLogger(__name__)


def _pending(factory: sessionmaker[Session]) -> list[notification.Digest]:
    with factory.begin() as session:
        return notification.pending_digests(session=session)


def _mark(factory: sessionmaker[Session], ids: tuple[int, ...]) -> None:
    with factory.begin() as session:
        notification.mark_emailed(session=session, ids=ids, at=utcnow())


async def send_digests(factory: sessionmaker[Session], mailer: Mailer, *, base_url: str) -> int:
    """Send every pending digest; a failed send leaves its rows for the next run. Return mails sent."""
    sent = 0
    for digest in await run_in_threadpool(_pending, factory):
        subject, body = notification.render_digest(digest, base_url=base_url)
        try:
            await mailer.send(digest.email, subject, body)
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.warning("digest to %s failed, kept for the next run: %s", digest.email, exc)
            continue
        await run_in_threadpool(_mark, factory, digest.notification_ids)
        sent += 1
    return sent
