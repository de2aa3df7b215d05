"""Notifications: the bell's queries, marking read, and daily digests sent to a real SMTP server."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from duban.digest import send_digests
from duban.mailer import Mailer, parse_smtp_url
from duban.models import Department, Notification, User
from duban.services import notification
from tests.smtp import smtp_server

T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def _user(session, name, email=None, digest=True):
    dept = session.scalar(select(Department).where(Department.code == "jl-t")) or Department(
        code="jl-t", name="省测试厅"
    )
    user = User(
        username=name,
        password_hash="x",
        role="staff",
        department=dept,
        email=email,
        digest_email=digest,
    )
    session.add(user)
    session.flush()
    return user


def _note(session, user, key, title="省测试厅：任务（五）已到期"):
    row = Notification(
        key=key, user_id=user.id, kind="reminder", title=title, body="请及时报送进展。"
    )
    session.add(row)
    session.flush()
    return row


def test_bell_counts_and_marks_only_own(session):
    alice, bob = _user(session, "alice"), _user(session, "bob")
    a1, a2 = _note(session, alice, "a1"), _note(session, alice, "a2")
    b1 = _note(session, bob, "b1")
    assert notification.unread_count(session=session, user_id=alice.id) == 2
    # Bob's id in Alice's request changes nothing of Bob's.
    assert notification.mark_read(session=session, user_id=alice.id, at=T0, ids=[a1.id, b1.id]) == 1
    assert notification.unread_count(session=session, user_id=alice.id) == 1
    assert notification.unread_count(session=session, user_id=bob.id) == 1
    newest = notification.list_for_user(session=session, user_id=alice.id)
    assert [n.id for n in newest] == [a2.id, a1.id]
    assert notification.mark_read(session=session, user_id=alice.id, at=T0) == 1
    assert notification.list_for_user(session=session, user_id=alice.id, unread_only=True) == []


def test_pending_digests_group_per_person_and_respect_preferences(session):
    alice = _user(session, "alice", "alice@example.gov.cn")
    quiet = _user(session, "quiet", "quiet@example.gov.cn", digest=False)
    nomail = _user(session, "nomail")
    for i in range(3):
        _note(session, alice, f"a{i}")
    _note(session, quiet, "q")
    _note(session, nomail, "n")
    digests = notification.pending_digests(session=session)
    assert [(d.email, len(d.notification_ids)) for d in digests] == [("alice@example.gov.cn", 3)]
    subject, body = notification.render_digest(digests[0], base_url="http://duban.test")
    assert "3 条新通知" in subject
    assert "省测试厅：任务（五）已到期" in body and "http://duban.test" in body


def test_smtp_url_parsing():
    t = parse_smtp_url("smtps://bot%40gov:p%40ss@mail.gov.cn")
    assert (t.host, t.port, t.username, t.password, t.use_tls) == (
        "mail.gov.cn",
        465,
        "bot@gov",
        "p@ss",
        True,
    )
    assert parse_smtp_url("smtp://relay:2525?starttls=1").start_tls is True
    with pytest.raises(ValueError, match="SMTP_URL"):
        parse_smtp_url("http://relay")


async def test_digest_arrives_once_at_a_real_smtp_server(engine):
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        alice = _user(session, "alice", "alice@example.gov.cn")
        bob = _user(session, "bob", "bob@example.gov.cn")
        _note(session, alice, "a1")
        _note(session, alice, "a2", title="任务（七）已退回")
        _note(session, bob, "b1")
    with smtp_server() as (inbox, url):
        mailer = Mailer(url, "duban@example.gov.cn")
        assert await send_digests(factory, mailer, base_url="http://duban.test") == 2
        # A second run has nothing new to send.
        assert await send_digests(factory, mailer, base_url="http://duban.test") == 0
    [mail] = inbox.to("alice@example.gov.cn")
    assert "2 条新通知" in mail["Subject"]
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "任务（七）已退回" in text
    assert len(inbox.to("bob@example.gov.cn")) == 1
    with factory.begin() as session:
        assert all(n.emailed_at is not None for n in session.scalars(select(Notification)))


async def test_failed_send_keeps_rows_for_next_run(engine):
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        _note(session, _user(session, "alice", "alice@example.gov.cn"), "a1")
    with smtp_server() as (_inbox, url):
        pass  # the server is gone: connection refused
    assert await send_digests(factory, Mailer(url, "duban@example.gov.cn"), base_url="x") == 0
    with factory.begin() as session:
        assert session.scalars(select(Notification)).one().emailed_at is None
