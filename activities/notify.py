"""Notification activities: in-app messages to the right people, mailed at once when urgent."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from duban.db import utcnow
from duban.mailer import Mailer
from duban.messages import NOTIFY_ACTIVITY, URGENT_KINDS, NotifyInput
from duban.services import notification

log = logging.getLogger(__name__)


class NotifyActivities:
    """Write notifications (one row per recipient, idempotent by key) and mail urgent ones."""

    def __init__(
        self, session_factory: sessionmaker[Session], mailer: Mailer | None = None
    ) -> None:
        self.session_factory = session_factory
        self.mailer = mailer

    @activity.defn(name=NOTIFY_ACTIVITY)
    def notify(self, inp: NotifyInput) -> int:
        """Notify every active user of the audience; mail urgent ones; return rows added.

        A failed mail fails the activity, and its retry mails what is still unmailed: the
        rows are selected by key and `emailed_at is null`, not by what this attempt added.
        """
        with self.session_factory.begin() as session:
            added = len(notification.add_notifications(session, inp))
        if self.mailer is not None and inp.kind in URGENT_KINDS:
            self._mail(inp.key)
        return added

    def _mail(self, key: str) -> None:
        """Send the notice's unmailed rows, marking each as sent so no retry sends it twice."""
        with self.session_factory() as session:
            ids = notification.unmailed(session=session, key=key)
        for note_id in ids:
            self._mail_one(note_id)

    def _mail_one(self, note_id: int) -> None:
        assert self.mailer is not None
        with self.session_factory.begin() as session:
            mail = notification.mail_of(session=session, notification_id=note_id)
            if mail is None:
                return
            # A worker thread has no running loop, so one short-lived loop per mail is fine.
            asyncio.run(self.mailer.send(mail.email, mail.subject, mail.body))
            notification.mark_emailed(session=session, ids=[note_id], at=utcnow())
