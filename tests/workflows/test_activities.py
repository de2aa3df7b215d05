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
from duban.script import to_script
from duban.services import notification
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


def test_coded_notice_is_rendered_for_its_reader(db_url):
    """A workflow stores a code and parameters, no text; each reader gets it in their script."""
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    seeded = seed(factory)
    aid, code = seeded.assignment_ids["fpb"], code_of(seeded, "fpb")
    params: dict[str, str | int | None] = {
        "item": 5,
        "department": code,
        "level": 2,
        "original_due_at": "2026-12-01T00:00:00+00:00",
        "due_at": "2026-12-08T16:30:00+00:00",
    }
    inp = NotifyInput("k:l2", aid, "escalation_l2", "supervisors", code="escalation", params=params)
    NotifyActivities(factory).notify(inp)
    with factory() as s:
        rows = s.scalars(select(Notification).where(Notification.key.startswith("k:l2"))).all()
        assert rows and all(r.title == "" and r.code == "escalation" for r in rows)
        user_id = rows[0].user_id
        [simplified] = notification.list_for_user(session=s, user_id=user_id)
        [traditional] = notification.list_for_user(session=s, user_id=user_id, locale="zh-TW")
    task, unit = "任务（5）保持主要帮扶政策总体稳定", f"省fpb-{seeded.policy_key}"
    assert simplified.title == f"【2级督办】{task}（{unit}）已逾期"
    # Times in Beijing: 16:30 UTC is half past midnight the next day.
    assert simplified.body == "原定期限 2026-12-01 08:00，当前期限 2026-12-09 00:30，尚未报送。"
    assert traditional.title == to_script(simplified.title, "zh-TW")
    assert "級督辦" in traditional.title and "級督办" not in traditional.title
    assert traditional.body.startswith("原定期限") and "尚未報送" in traditional.body
    engine.dispose()


def test_text_rows_from_before_codes_still_show(db_url):
    """A row stored as text (an older run, or a service's notice) shows as it was written."""
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    seeded = seed(factory)
    with factory.begin() as s:
        user_id = seeded.users["fpb-head"]
        s.add(
            Notification(key="old:1", user_id=user_id, kind="urge", title="旧的通知", body="正文")
        )
    with factory() as s:
        [shown] = notification.list_for_user(session=s, user_id=user_id)
        [hant] = notification.list_for_user(session=s, user_id=user_id, locale="zh-TW")
    assert (shown.title, shown.body) == ("旧的通知", "正文")
    assert (hant.title, hant.body) == ("舊的通知", "正文")
    engine.dispose()


def test_urgent_mail_is_written_in_the_readers_script(db_url):
    """The urgent mail of a coded notice is rendered like the page, in the reader's script."""
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    seeded = seed(factory)
    with factory.begin() as s:
        head = s.get_one(User, seeded.users["fpb-head"])
        head.email, head.locale = "head@example.gov.cn", "zh-TW"
    aid = seeded.assignment_ids["fpb"]
    inp = NotifyInput(
        "k:urge",
        aid,
        "urge",
        "department",
        body="请尽快报送",
        code="urge",
        params={"item": 5, "department": code_of(seeded, "fpb")},
    )
    with smtp_server() as (inbox, url):
        NotifyActivities(factory, Mailer(url, "duban@example.gov.cn")).notify(inp)
    [mail] = inbox.to("head@example.gov.cn")
    task = "任務（5）保持主要幫扶政策總體穩定"
    assert mail["Subject"] == f"【督辦】督辦催辦：請儘快辦理{task}"
    assert "請儘快報送" in mail.get_content()
    engine.dispose()
