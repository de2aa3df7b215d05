"""Head terms: keep who heads which department over time, and find the head of a moment."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from duban.domain import UserRole
from duban.models import HeadTerm, User


@dataclass(frozen=True)
class Term:
    """A head's time in office, with the names a score shows."""

    started_at: datetime
    ended_at: datetime | None
    user_id: int
    username: str
    name: str

    def covers(self, at: datetime) -> bool:
        """Return whether the term includes `at`."""
        return self.started_at <= at and (self.ended_at is None or at < self.ended_at)

    def distance(self, at: datetime) -> float:
        """Return how far `at` lies outside the term, in seconds (0 inside)."""
        if at < self.started_at:
            return (self.started_at - at).total_seconds()
        if self.ended_at is not None and at >= self.ended_at:
            return (at - self.ended_at).total_seconds()
        return 0.0


def sync_head_term(*, session: Session, user: User, at: datetime) -> None:
    """Open or close the user's head term to match their role, department and activity now."""
    open_terms = session.scalars(
        select(HeadTerm).where(HeadTerm.user_id == user.id, HeadTerm.ended_at.is_(None))
    ).all()
    heads = user.is_active and user.role == UserRole.HEAD and user.department_id is not None
    kept = False
    for term in open_terms:
        if heads and not kept and term.department_id == user.department_id:
            kept = True
        else:
            term.ended_at = at
    if heads and not kept:
        assert user.department_id is not None
        session.add(HeadTerm(department_id=user.department_id, user_id=user.id, started_at=at))
    session.flush()


def head_terms(*, session: Session) -> dict[int, list[Term]]:
    """Return department id -> its heads' terms, oldest first."""
    rows = session.execute(
        select(HeadTerm, User.username, User.display_name)
        .join(User, User.id == HeadTerm.user_id)
        .order_by(HeadTerm.started_at, HeadTerm.user_id)
    )
    out: dict[int, list[Term]] = defaultdict(list)
    for term, username, name in rows:
        out[term.department_id].append(
            Term(term.started_at, term.ended_at, term.user_id, username, name or username)
        )
    return out


def head_at(terms: list[Term], at: datetime) -> Term | None:
    """Return the head in office at `at` (the earliest appointed if several); else the nearest term."""
    if not terms:
        return None
    for term in terms:
        if term.covers(at):
            return term
    return min(terms, key=lambda t: t.distance(at))
