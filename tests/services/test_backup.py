"""Backup and restore of the read model, evidence and Temporal store, across SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import duban.models  # noqa: F401  (fills the metadata)
from activities.read_model import ReadModelActivities
from duban.db import Base, make_engine, make_session_factory
from duban.messages import (
    BeginInput,
    PeriodPatch,
    PeriodSpec,
    RecordInput,
    ReviewRecord,
    Snapshot,
    SubmissionRecord,
)
from duban.migrate import alembic_config, upgrade
from duban.models import Assignment, AuditEvent, Evidence
from duban.services.audit import verify_chain
from duban.services.backup import BackupError, create_backup, file_sha256
from duban.services.dump import reflect_tables, row_counts
from duban.services.evidence import EvidenceStore, record_evidence
from duban.services.policy import import_policy
from duban.services.restore import restore_backup
from duban.services.user import create_user
from policies.parse import parse_text
from tests.db import PG_ADMIN_URL, fresh_database

JILIN = (
    Path(__file__).resolve().parents[2] / "policies" / "jilin-2021-consolidation-revitalization.txt"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
DUE = datetime(2026, 3, 31, 16, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 8, 30, 15, 123456, tzinfo=UTC)
PASSWORD = "duban-backup-test"


@dataclass(frozen=True)
class Source:
    """A populated data set: its database URL, data dir and the evidence hashes it holds."""

    url: str
    data_dir: Path
    evidence: frozenset[str]


def populate(url: str, data_dir: Path) -> Source:
    """Import the Jilin document, add users, periods, evidence, submissions, reviews, a Temporal store."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    text = JILIN.read_text(encoding="utf-8")
    with factory.begin() as s:
        import_policy(session=s, parsed=parse_text(text), source_text=text, source_name=JILIN.name)
        staff = create_user(
            session=s,
            username="fpb-staff",
            password=PASSWORD,
            role="staff",
            department_code="jl-fpb",
        ).id
        boss = create_user(session=s, username="sup", password=PASSWORD, role="supervisor").id
    with factory() as s:
        ids = list(s.scalars(select(Assignment.id).order_by(Assignment.id).limit(4)))
    acts = ReadModelActivities(factory)
    store = EvidenceStore(data_dir / "evidence", max_bytes=1 << 20)
    for n, aid in enumerate(ids):
        periods = [PeriodSpec(i, DUE + timedelta(days=91 * i), f"第{i + 1}期") for i in range(3)]
        acts.begin(BeginInput(aid, periods))
        with factory.begin() as s:
            files = [(f"现场照片{n}.png", PNG + bytes([n])), ("工作方案.pdf", PDF)]
            evidence = [
                record_evidence(
                    session=s,
                    store=store,
                    assignment_id=aid,
                    user_id=staff,
                    actor="承办人",
                    filename=name,
                    source=io.BytesIO(body),
                ).id
                for name, body in files
            ]
        _submit_and_review(acts, aid, staff, boss, evidence, n)
    engine.dispose()
    _temporal_store(data_dir)
    shas = {file_sha256(p) for p in (data_dir / "evidence").glob("??/*")}
    return Source(url, data_dir, frozenset(shas))


def _submit_and_review(
    acts: ReadModelActivities, aid: int, staff: int, boss: int, evidence: list[int], n: int
) -> None:
    """Record a submission with its evidence and a supervisor's verdict, as the workflow does."""
    snap = Snapshot("in_progress", 0, DUE, DUE, 0, acknowledged_at=NOW)
    sub = SubmissionRecord(f"wf{aid}:sub", f"第{n}项工作已完成，详见附件。", evidence, False)
    acts.record(
        RecordInput(
            f"wf{aid}:submitted",
            aid,
            "submitted",
            NOW,
            snap,
            staff,
            "承办人",
            {"evidence_ids": evidence},
            submission=sub,
        )
    )
    verdict = ReviewRecord(sub.key, "approve" if n % 2 == 0 else "return", 4, "符合要求")
    patch = PeriodPatch(0, state="approved", closed_at=NOW, on_time=True, rating=4)
    acts.record(
        RecordInput(
            f"wf{aid}:reviewed",
            aid,
            "reviewed",
            NOW + timedelta(hours=1),
            snap,
            boss,
            "督查室",
            {"decision": verdict.decision, "键": [1, "二"]},
            review=verdict,
            period=patch,
        )
    )


def _temporal_store(data_dir: Path) -> None:
    """Write a SQLite store in WAL mode, as the dev server keeps it."""
    db = sqlite3.connect(data_dir / "temporal.sqlite3")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE executions (workflow_id TEXT PRIMARY KEY, state BLOB)")
    db.executemany(
        "INSERT INTO executions VALUES (?, ?)",
        [(f"task:jilin:{i}", b"\x00\x01" * i) for i in range(50)],
    )
    db.commit()
    db.close()


def table_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table, read through the models' types, in key order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    return out


@contextmanager
def bare_postgresql() -> Iterator[str]:
    """Yield the URL of a new PostgreSQL database with no schema at all, dropped afterwards."""
    name = f"duban_bare_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG_ADMIN_URL.rpartition('/')[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def database(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """Make fresh databases of a backend: migrated for the source, empty clones for the target."""
    opened: list[Any] = []

    def make(backend: str, folder: Path) -> str:
        if backend == "bare-postgresql":
            ctx = bare_postgresql()
            opened.append(ctx)
            return ctx.__enter__()
        template = request.getfixturevalue("pg_template") if backend == "postgresql" else None
        ctx = fresh_database(backend, folder, template)
        opened.append(ctx)
        return ctx.__enter__()

    yield make
    for ctx in opened:
        ctx.__exit__(None, None, None)


PAIRS = [
    pytest.param("sqlite", "sqlite", id="sqlite-to-sqlite"),
    pytest.param("sqlite", "postgresql", id="sqlite-to-postgresql", marks=pytest.mark.postgres),
    pytest.param("postgresql", "sqlite", id="postgresql-to-sqlite", marks=pytest.mark.postgres),
    pytest.param("sqlite", "bare-postgresql", id="sqlite-to-bare-pg", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize(("source_backend", "target_backend"), PAIRS)
def test_restore_onto_empty_target_finds_everything(
    source_backend: str, target_backend: str, tmp_path: Path, database: Any
) -> None:
    (tmp_path / "src").mkdir()
    source = populate(database(source_backend, tmp_path / "src"), tmp_path / "src" / "data")
    archive = tmp_path / "backup.tar.gz"
    src_engine = make_engine(source.url)
    made = create_backup(engine=src_engine, data_dir=source.data_dir, output=archive, now=NOW)
    assert made.rows["assignment"] == 132 and made.rows["evidence"] == 8
    assert (made.evidence, made.temporal, made.evidence_missing) == (5, True, [])

    target_dir = tmp_path / "dst" / "data"
    if target_backend == "sqlite":  # a data dir that does not exist yet, no database file in it
        target_url = f"sqlite:///{target_dir / 'duban.sqlite3'}"
    elif target_backend == "postgresql":  # a migrated, empty PostgreSQL database
        target_url = database("postgresql", tmp_path)
    else:  # a PostgreSQL database just created, without a schema
        target_url = database("bare-postgresql", tmp_path)
    dst_engine = make_engine(target_url)
    done = restore_backup(archive=archive, engine=dst_engine, data_dir=target_dir)
    assert done.rows == made.rows and (done.evidence, done.temporal) == (5, True)
    assert done.chain.intact and done.chain.checked == made.rows["audit_event"]

    before, after = table_rows(src_engine), table_rows(dst_engine)
    for name, rows in before.items():
        assert after[name] == rows, name
    assert len(after["audit_event"]) == made.rows["audit_event"] > 8
    for sha in source.evidence:
        restored = target_dir / "evidence" / sha[:2] / sha
        assert file_sha256(restored) == sha
    with Session(dst_engine) as s:
        report = verify_chain(session=s)
        assert report.intact and report.checked == made.rows["audit_event"]
        assert {e.sha256 for e in s.scalars(select(Evidence))} == source.evidence
    temporal = sqlite3.connect(target_dir / "temporal.sqlite3")
    assert temporal.execute("SELECT count(*) FROM executions").fetchone() == (50,)
    temporal.close()
    with dst_engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == made.revision
    _keeps_writing(dst_engine)
    src_engine.dispose()
    dst_engine.dispose()


def _keeps_writing(engine: Engine) -> None:
    """A new row gets a fresh id (sequences moved on) and extends the restored chain."""
    factory = make_session_factory(engine)
    with factory.begin() as s:
        top = s.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))
        event = AuditEvent(key="after-restore", kind="note", data={"说明": "恢复之后"})
        s.add(event)
        s.flush()
        assert top is not None and event.id > top
    with factory() as s:
        assert verify_chain(session=s).intact


def test_backup_reads_one_snapshot_of_a_temporal_store_being_written(
    tmp_path: Path, database: Any
) -> None:
    (tmp_path / "src").mkdir()
    source = populate(database("sqlite", tmp_path / "src"), tmp_path / "src" / "data")
    writer = sqlite3.connect(source.data_dir / "temporal.sqlite3")
    writer.execute("INSERT INTO executions VALUES ('committed', x'00')")
    writer.commit()
    writer.execute("INSERT INTO executions VALUES ('uncommitted', x'00')")  # open transaction
    engine = make_engine(source.url)
    try:
        create_backup(
            engine=engine, data_dir=source.data_dir, output=tmp_path / "b.tar.gz", now=NOW
        )
    finally:
        writer.rollback()
        writer.close()
        engine.dispose()
    target = tmp_path / "dst"
    restore_backup(
        archive=tmp_path / "b.tar.gz",
        engine=make_engine(f"sqlite:///{tmp_path / 'dst.sqlite3'}"),
        data_dir=target,
    )
    copy = sqlite3.connect(target / "temporal.sqlite3")
    ids = {r[0] for r in copy.execute("SELECT workflow_id FROM executions")}
    copy.close()
    assert "committed" in ids and "uncommitted" not in ids and len(ids) == 51


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_dump_is_one_snapshot_while_the_app_writes(
    backend: str, tmp_path: Path, database: Any
) -> None:
    """An event committed after the chain head was dumped is in neither table of the archive."""
    (tmp_path / "src").mkdir()
    source = populate(database(backend, tmp_path / "src"), tmp_path / "src" / "data")
    engine, writer = make_engine(source.url), make_engine(source.url)
    written: list[int] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _write_meanwhile(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM audit_event" in statement and not written:
            with make_session_factory(writer).begin() as s:
                s.add(AuditEvent(key="during-backup", kind="note"))
            written.append(1)

    made = create_backup(
        engine=engine, data_dir=source.data_dir, output=tmp_path / "b.tgz", now=NOW
    )
    assert written
    with writer.connect() as conn:
        live = conn.scalar(select(func.count()).select_from(AuditEvent))
    assert made.rows["audit_event"] == (live or 0) - 1
    target = tmp_path / "dst"
    dst = make_engine(f"sqlite:///{tmp_path / 'dst.sqlite3'}")
    restore_backup(archive=tmp_path / "b.tgz", engine=dst, data_dir=target)
    with Session(dst) as s:
        assert verify_chain(session=s).intact
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.key == "during-backup")) is None
    for e in (engine, writer, dst):
        e.dispose()


def _retarget(archive: Path, out: Path, table: str, old: bytes, new: bytes) -> Path:
    """Copy the archive with one table's rows edited and the manifest's hash updated to match."""
    with tarfile.open(archive, "r:gz") as tar:
        members = {}
        for m in tar:
            handle = tar.extractfile(m)
            assert handle is not None
            members[m.name] = handle.read()
    name = next(n for n in members if n.endswith(f"-{table}.jsonl"))
    members[name] = members[name].replace(old, new, 1)
    manifest = json.loads(members["manifest.json"])
    digest = hashlib.sha256(members[name]).hexdigest()
    manifest["members"][name] = {"sha256": digest, "size": len(members[name])}
    members["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(out, "w:gz") as tar:
        for member, body in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_load_that_fails_leaves_the_target_empty(
    backend: str, tmp_path: Path, database: Any
) -> None:
    """Rows that break a foreign key roll the whole restore back: no rows, no files placed."""
    (tmp_path / "src").mkdir()
    source = populate(database("sqlite", tmp_path / "src"), tmp_path / "src" / "data")
    engine = make_engine(source.url)
    create_backup(engine=engine, data_dir=source.data_dir, output=tmp_path / "b.tgz", now=NOW)
    engine.dispose()
    bad = _retarget(
        tmp_path / "b.tgz",
        tmp_path / "bad.tgz",
        "evidence",
        b'"assignment_id":',
        b'"assignment_id":99999',
    )
    url = (
        f"sqlite:///{tmp_path / 'dst.sqlite3'}"
        if backend == "sqlite"
        else database("postgresql", tmp_path)
    )
    dst = make_engine(url)
    with pytest.raises((BackupError, IntegrityError)):
        restore_backup(archive=bad, engine=dst, data_dir=tmp_path / "dst")
    with dst.connect() as conn:
        tables = reflect_tables(conn)
        assert all(n == 0 for t, n in row_counts(conn, tables) if t.name != "audit_chain")
    assert not (tmp_path / "dst" / "temporal.sqlite3").exists()
    assert not any(p.is_file() for p in (tmp_path / "dst").rglob("*") if "evidence" in p.parts)
    restore_backup(archive=tmp_path / "b.tgz", engine=dst, data_dir=tmp_path / "dst")
    with Session(dst) as s:
        assert verify_chain(session=s).intact
    dst.dispose()


BEFORE_CHAIN = "4d8b2e6f0a13"  # the revision before the audit chain (2026-12-02_audit_chain)


@pytest.mark.parametrize("target_backend", BACKENDS)
def test_an_older_backup_is_loaded_at_its_revision_then_migrated_to_head(
    target_backend: str, tmp_path: Path, database: Any
) -> None:
    """A backup from before the audit chain restores, and the migration chains its events."""
    old = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(old, BEFORE_CHAIN)
    with old.begin() as conn:
        tables = {t.name: t for t in reflect_tables(conn)}
        conn.execute(
            tables["department"].insert(),
            [{"id": i, "code": f"d{i}", "name": f"部门{i}", "known": True} for i in (1, 2, 3)],
        )
        events = [
            {
                "id": i,
                "key": f"k{i}",
                "at": NOW + timedelta(minutes=i),
                "kind": "note",
                "actor_label": "系统",
                "data": {"次序": i},
            }
            for i in range(1, 6)
        ]
        conn.execute(tables["audit_event"].insert(), events)
    made = create_backup(engine=old, data_dir=tmp_path / "old", output=tmp_path / "b.tgz", now=NOW)
    old.dispose()
    assert (made.revision, made.temporal, made.rows["audit_event"]) == (BEFORE_CHAIN, False, 5)
    url = (
        f"sqlite:///{tmp_path / 'dst.sqlite3'}"
        if target_backend == "sqlite"
        else database("postgresql", tmp_path)  # at head: taken down to the backup's revision first
    )
    dst = make_engine(url)
    done = restore_backup(archive=tmp_path / "b.tgz", engine=dst, data_dir=tmp_path / "dst")
    assert done.chain.intact and done.chain.checked == 5
    with dst.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert MigrationContext.configure(conn).get_current_revision() == head
        keys = list(conn.scalars(select(AuditEvent.key).order_by(AuditEvent.seq)))
        assert keys == [f"k{i}" for i in range(1, 6)]
    _keeps_writing(dst)
    dst.dispose()


def test_a_missing_evidence_file_is_named_and_the_rest_restores(
    tmp_path: Path, database: Any
) -> None:
    (tmp_path / "src").mkdir()
    source = populate(database("sqlite", tmp_path / "src"), tmp_path / "src" / "data")
    gone = sorted(source.evidence)[0]
    (source.data_dir / "evidence" / gone[:2] / gone).unlink()
    engine = make_engine(source.url)
    made = create_backup(
        engine=engine, data_dir=source.data_dir, output=tmp_path / "b.tgz", now=NOW
    )
    engine.dispose()
    assert (made.evidence_missing, made.evidence) == ([gone], len(source.evidence) - 1)
    dst = make_engine(f"sqlite:///{tmp_path / 'dst.sqlite3'}")
    done = restore_backup(archive=tmp_path / "b.tgz", engine=dst, data_dir=tmp_path / "dst")
    dst.dispose()
    assert done.evidence == len(source.evidence) - 1 and done.chain.intact
    restored = {p.name for p in (tmp_path / "dst" / "evidence").glob("??/*")}
    assert restored == source.evidence - {gone}
