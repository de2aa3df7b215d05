"""Read-model activities: the only writers of assignment state, periods, submissions and the timeline."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from duban.messages import BEGIN_ACTIVITY, RECORD_ACTIVITY, BeginInput, RecordInput
from duban.models import AuditEvent
from duban.services.notification import add_notifications
from duban.services.read_model import add_periods, apply_step


class ReadModelActivities:
    """Activities writing the SQL read model; each is idempotent by its key."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    @activity.defn(name=BEGIN_ACTIVITY)
    def begin(self, inp: BeginInput) -> int:
        """Store periods, apply steps and add notices (never mailed) at once; return rows added."""
        with self.session_factory.begin() as session:
            added = add_periods(session, inp.assignment_id, inp.periods)
            events = [e for step in inp.steps if (e := apply_step(session, step)) is not None]
            added += sum(len(add_notifications(session, note)) for note in inp.notices)
            _add_last(session, events)
        return added + len(events)

    @activity.defn(name=RECORD_ACTIVITY)
    def record(self, inp: RecordInput) -> bool:
        """Apply one workflow step and add the notices it carries (never mailed); return False
        when its key was already recorded."""
        with self.session_factory.begin() as session:
            event = apply_step(session, inp)
            for note in inp.notices:
                add_notifications(session, note)
            _add_last(session, [event] if event is not None else [])
            return event is not None


def _add_last(session: Session, events: list[AuditEvent]) -> None:
    """Flush everything else, then add the step's audit events: the flush that chains them
    takes the chain's head, held only until this transaction commits right after."""
    session.flush()
    session.add_all(events)
