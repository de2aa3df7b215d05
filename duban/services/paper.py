"""Formal papers from the records: which ones an assignment has, their stable yearly numbers.

A paper's number is given the first time it is issued and kept in `paper_number` under the key
of the record it speaks for (the assignment, or one 催办 event), so printing it again shows the
same number. Serials run per kind and per year (Beijing time) from 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from duban.errors import Conflict, NotFound
from duban.models import Assignment, AuditEvent, PaperNumber
from duban.rules import DONE_STATES

CHINA = ZoneInfo("Asia/Shanghai")
NUMBER_TRIES = 5


class PaperKind(StrEnum):
    """The three papers an office sends or files."""

    NOTICE = "notice"  # 督办通知单
    URGE = "urge"  # 催办通知单
    REPORT = "report"  # 办结报告


PAPER_TITLES = {
    PaperKind.NOTICE: "督办通知单",
    PaperKind.URGE: "催办通知单",
    PaperKind.REPORT: "办结报告",
}
NUMBER_WORDS = {PaperKind.NOTICE: "督办", PaperKind.URGE: "催办", PaperKind.REPORT: "办结"}


@dataclass(frozen=True)
class PaperNo:
    """A paper's number as issued: kind, year and serial."""

    kind: PaperKind
    year: int
    serial: int
    issued_at: datetime

    @property
    def text(self) -> str:
        """Return the number as written on the paper, e.g. 督办〔2026〕12号."""
        return f"{NUMBER_WORDS[self.kind]}〔{self.year}〕{self.serial}号"


def _stored(session: Session, source_key: str) -> PaperNo | None:
    row = session.scalars(select(PaperNumber).where(PaperNumber.source_key == source_key)).first()
    if row is None:
        return None
    return PaperNo(PaperKind(row.kind), row.year, row.serial, row.issued_at)


def paper_number(
    *,
    session: Session,
    kind: PaperKind,
    source_key: str,
    assignment_id: int,
    user_id: int | None,
    at: datetime,
) -> PaperNo:
    """Return the paper's number, giving it the next serial of its kind and year the first time.

    Two requests racing for the same serial (or the same record) meet the unique constraints;
    the loser retries in a fresh savepoint and reads what the winner wrote.
    """
    for _ in range(NUMBER_TRIES):
        if (found := _stored(session, source_key)) is not None:
            return found
        year = at.astimezone(CHINA).year
        last = session.scalar(
            select(func.max(PaperNumber.serial)).where(
                PaperNumber.kind == kind.value, PaperNumber.year == year
            )
        )
        row = PaperNumber(
            kind=kind.value,
            year=year,
            serial=(last or 0) + 1,
            source_key=source_key,
            assignment_id=assignment_id,
            issued_by_id=user_id,
            issued_at=at,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        return PaperNo(kind, year, row.serial, at)
    raise Conflict("编号正被占用，请稍后重试。")


def urge_event(*, session: Session, assignment_id: int, event_id: int) -> AuditEvent:
    """Return one 催办 event of the assignment, or raise NotFound."""
    event = session.get(AuditEvent, event_id)
    if event is None or event.assignment_id != assignment_id or event.kind != "urged":
        raise NotFound("该催办记录不存在。")
    return event


def urge_events(*, session: Session, assignment_id: int) -> list[AuditEvent]:
    """Return the assignment's 催办 events, oldest first."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.assignment_id == assignment_id, AuditEvent.kind == "urged")
        .order_by(AuditEvent.seq)
    )
    return list(session.scalars(stmt))


def check_reportable(assignment: Assignment) -> None:
    """Refuse a 办结报告 for an assignment that is not finished."""
    if assignment.state not in DONE_STATES and assignment.completed_at is None:
        raise Conflict("该事项尚未办结，不能生成办结报告。")


def source_key(kind: PaperKind, assignment_id: int, event_id: int | None = None) -> str:
    """Return the key of the record a paper speaks for."""
    if kind is PaperKind.URGE:
        return f"urge:event:{event_id}"
    return f"{kind.value}:assignment:{assignment_id}"
