"""The audit chain: every event linked by hash, changes refused, and `verify` names what was altered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from activities.read_model import ReadModelActivities
from duban.db import make_engine, make_session_factory
from duban.messages import NotifyInput, PeriodPatch, RecordInput, Snapshot, SubmissionRecord
from duban.migrate import upgrade
from duban.models import AuditEvent, Notification
from duban.services.audit import chain_head, verify_chain
from tests.cli.test_policy_commands import run
from tests.db import fresh_database
from tests.workspace import make_assignment, make_department, make_policy, make_user


def _add(factory, n: int, prefix: str) -> None:
    for i in range(n):
        with factory.begin() as s:
            s.add(AuditEvent(key=f"{prefix}:{i}", kind="test", data={"i": i, 7: "int key"}))


def _tamper(engine: Engine, sql: str) -> None:
    """Change rows as someone with direct database access would, past the triggers."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # A superuser can switch triggers off for its session; the chain still shows it.
            conn.execute(text("SET session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_event_no_delete"))
        conn.execute(text(sql))


def test_events_are_chained_in_order_and_verify_passes(engine):
    factory = make_session_factory(engine)
    _add(factory, 5, "a")
    with factory() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        report = verify_chain(session=s)
        head = chain_head(session=s)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert report.intact and report.checked == 5
    assert (head.seq, head.hash) == (5, events[-1].hash)


def test_several_events_in_one_transaction_chain_too(engine):
    factory = make_session_factory(engine)
    with factory.begin() as s:
        s.add_all(AuditEvent(key=f"b:{i}", kind="test") for i in range(4))
    with factory() as s:
        assert verify_chain(session=s).checked == 4


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    """Collect the SQL statements the engine sends, first line of each, lower case."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, _params, _context, _many) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_one_flush_moves_the_head_once_for_all_its_events(engine):
    factory = make_session_factory(engine)
    _add(factory, 2, "before")
    with _statements(engine) as seen, factory.begin() as s:
        s.add_all(AuditEvent(key=f"f:{i}", kind="test", data={"i": i}) for i in range(5))
    with factory() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert verify_chain(session=s).intact
    # The head row is written twice per flush (its seq, then its hash), not per event.
    assert sum("update audit_chain" in sql for sql in seen) == 2
    assert [e.key for e in events[2:]] == [f"f:{i}" for i in range(5)]  # in the order added
    assert [e.seq for e in events] == list(range(1, 8))


def test_a_recorded_step_takes_the_chain_head_only_for_its_last_statements(engine):
    """Everything a step writes goes first; the chain's head, which every audit-writing
    transaction waits for, is taken by the statements just before the commit."""
    factory = make_session_factory(engine)
    with factory.begin() as s:
        dept = make_department(s)
        make_user(s, "staff", dept)
        policy = make_policy(s)
        aid = make_assignment(s, policy=policy, department=dept).id
    at = datetime(2026, 12, 3, 8, tzinfo=UTC)
    step = RecordInput(
        f"wf{aid}:p0:submitted:s1",
        aid,
        "submitted",
        at,
        Snapshot("submitted", 0, at, at, 0),
        data={"report": "已完成"},
        period=PeriodPatch(0, state="submitted"),
        submission=SubmissionRecord("s1", "已完成", [], False),
        notices=[NotifyInput(f"wf{aid}:p0:n", aid, "submitted", "department", code="submitted")],
    )
    with _statements(engine) as seen:
        assert ReadModelActivities(factory).record(step)
    writes = [sql for sql in seen if sql.startswith(("insert", "update", "delete"))]
    first_chain = next(i for i, sql in enumerate(writes) if "audit_chain" in sql)
    assert all("audit_chain" in sql or "audit_event" in sql for sql in writes[first_chain:])
    assert any("notification" in sql for sql in writes[:first_chain])
    assert any("submission" in sql for sql in writes[:first_chain])
    with factory() as s:
        assert s.scalar(select(AuditEvent.kind).where(AuditEvent.key == step.key)) == "submitted"
        assert s.scalars(select(Notification.kind)).all() == ["submitted"]


@pytest.mark.parametrize("verb", ["UPDATE audit_event SET kind = 'x'", "DELETE FROM audit_event"])
def test_the_database_refuses_to_change_or_delete_an_event(engine, verb):
    _add(make_session_factory(engine), 1, "c")
    with pytest.raises(DBAPIError, match="insert-only"), engine.begin() as conn:
        conn.execute(text(verb))


def test_verify_names_the_first_edited_event(engine):
    factory = make_session_factory(engine)
    _add(factory, 6, "d")
    _tamper(engine, "UPDATE audit_event SET actor_label = 'someone else' WHERE seq IN (3, 5)")
    with factory() as s:
        report = verify_chain(session=s)
    assert not report.intact
    assert (report.broken_seq, report.checked) == (3, 2)
    assert "修改" in report.reason


def test_verify_finds_a_deleted_event_and_a_deleted_tail(engine):
    factory = make_session_factory(engine)
    _add(factory, 4, "e")
    _tamper(engine, "DELETE FROM audit_event WHERE seq = 4")
    with factory() as s:
        tail = verify_chain(session=s)
    _tamper(engine, "DELETE FROM audit_event WHERE seq = 2")
    with factory() as s:
        middle = verify_chain(session=s)
    assert (tail.intact, tail.checked, "链头" in tail.reason) == (False, 3, True)
    assert (middle.broken_seq, "序号" in middle.reason) == (3, True)


def test_concurrent_writers_never_fork_the_chain(engine):
    factory = make_session_factory(engine)
    threads = [threading.Thread(target=_add, args=(factory, 15, f"t{n}")) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with factory() as s:
        report = verify_chain(session=s)
    assert report.intact, report.reason
    assert report.checked == 90


def test_the_migration_chains_events_written_before_it(backend, tmp_path, request):
    template = request.getfixturevalue("pg_template") if backend == "postgresql" else None
    with fresh_database(backend, tmp_path, template) as url:
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                # Back to the schema before the chain, as an existing deployment has it.
                from alembic import command

                from duban.migrate import alembic_config

                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "4d8b2e6f0a13")
                conn.execute(
                    text(
                        "INSERT INTO audit_event (key, at, kind, actor_label, data) VALUES "
                        "('old:1', '2026-11-30 08:00:00.123456+00:00', 'old', '', '{\"n\": 1}'),"
                        "('old:2', '2026-11-30 09:00:00+00:00', 'old', 'x', '{}')"
                    )
                )
            upgrade(engine)
            factory = make_session_factory(engine)
            _add(factory, 2, "new")
            with Session(engine) as s:
                report = verify_chain(session=s)
            assert report.intact, report.reason
            assert report.checked == 4
        finally:
            engine.dispose()


def test_cli_verify_exits_0_when_intact_and_1_naming_the_broken_event(db_url, tmp_path: Path):
    engine = make_engine(db_url)
    _add(make_session_factory(engine), 3, "cli")
    ok = run("audit", "verify", db_url=db_url, data_dir=tmp_path)
    _tamper(engine, "UPDATE audit_event SET data = '{\"i\": 99}' WHERE seq = 2")
    engine.dispose()
    broken = run("audit", "verify", db_url=db_url, data_dir=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "3 events" in ok.stdout
    assert broken.returncode == 1
    assert "#2" in broken.stderr and "Traceback" not in broken.stderr
    assert len(broken.stderr.splitlines()) == 1
