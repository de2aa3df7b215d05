"""Activities alone: each write is idempotent by its key (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiosmtplib import SMTPException
from sqlalchemy import func, select

from activities.notify import NotifyActivities
from activities.read_model import ReadModelActivities
from duban.db import make_engine, make_session_factory
from duban.mailer import Mailer
from duban.messages import (
    BeginInput,
    EscalationRecord,
    NotifyInput,
    PeriodSpec,
    RecordInput,
    Snapshot,
    SubmissionRecord,
)
from duban.models import AuditEvent, Escalation, Notification, Submission, User
from tests.smtp import smtp_server
from tests.workflows.seed import code_of, seed

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _count(factory, model):
    with factory() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_record_and_notify_are_idempotent(db_url):
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    seeded = seed(factory)
    aid = seeded.assignment_ids["fpb"]
    reads, notes = ReadModelActivities(factory), NotifyActivities(factory)
    periods = BeginInput(aid, [PeriodSpec(0, T0 + timedelta(days=30), "第1期")])
    assert (reads.begin(periods), reads.begin(periods)) == (1, 0)
    snap = Snapshot("submitted", 0, T0, T0, 1)
    step = RecordInput(
        key="k:submitted",
        assignment_id=aid,
        kind="submitted",
        at=T0,
        snapshot=snap,
        submission=SubmissionRecord("sub-1", "报告", [], late=True),
        escalation=EscalationRecord(level=1),
    )
    assert (reads.record(step), reads.record(step)) == (True, False)
    assert [_count(factory, m) for m in (AuditEvent, Submission, Escalation)] == [1, 1, 1]
    note = NotifyInput("k:l1", aid, "escalation_l1", "head", "【1级督办】已逾期")
    assert (notes.notify(note), notes.notify(note)) == (1, 0)
    with factory() as s:
        assert s.scalars(select(Notification.kind)).all() == ["escalation_l1"]
    engine.dispose()


def test_urgent_mail_is_retried_until_sent(db_url):
    """The relay refuses the first attempt; the activity's retry finds its rows and mails them."""
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    seeded = seed(factory)
    with factory.begin() as s:
        head = s.get_one(User, seeded.users["fpb-head"])
        head.email = "head@example.gov.cn"
    inp = NotifyInput("k:urge", seeded.assignment_ids["fpb"], "urge", "department", "请尽快办理")
    with smtp_server(refuse=1) as (inbox, url):
        notify = NotifyActivities(factory, Mailer(url, "duban@example.gov.cn"))
        with pytest.raises(SMTPException):
            notify.notify(inp)
        assert inbox.messages == []
        notify.notify(inp)  # Temporal's retry: the same input again
        notify.notify(inp)  # and once more: nothing is mailed twice
    assert [m["Subject"] for m in inbox.to("head@example.gov.cn")] == ["【督办】请尽快办理"]
    with factory() as s:
        mailed = s.scalars(
            select(Notification.emailed_at).where(Notification.user_id == head.id)
        ).all()
    assert len(mailed) == 1 and mailed[0] is not None
    engine.dispose()


def test_notifications_name_the_task_and_the_department(db_url):
    """A reader sees the item as written with its title and the department's name, not codes."""
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    seeded = seed(factory)
    code = code_of(seeded, "fpb")
    title = f"第5项任务（{code}）已报送，待审核"
    inp = NotifyInput("k:sub", seeded.assignment_ids["fpb"], "submitted", "supervisors", title)
    NotifyActivities(factory).notify(inp)
    with factory() as s:
        [shown] = s.scalars(select(Notification.title).where(Notification.key.startswith("k:sub")))
    assert shown == f"任务（5）保持主要帮扶政策总体稳定（省fpb-{seeded.policy_key}）已报送，待审核"
    engine.dispose()
