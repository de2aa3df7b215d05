"""Read-model activities: the only writers of assignment state, periods, submissions and the timeline."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from duban.messages import BEGIN_ACTIVITY, RECORD_ACTIVITY, BeginInput, RecordInput
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
            added += sum(apply_step(session, step) for step in inp.steps)
            added += sum(len(add_notifications(session, note)) for note in inp.notices)
        return added

    @activity.defn(name=RECORD_ACTIVITY)
    def record(self, inp: RecordInput) -> bool:
        """Apply one workflow step and add the notices it carries (never mailed); return False
        when its key was already recorded."""
        with self.session_factory.begin() as session:
            applied = apply_step(session, inp)
            for note in inp.notices:
                add_notifications(session, note)
            return applied
