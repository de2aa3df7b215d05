"""`duban backup`: one tar.gz of the read model's logical dump, the evidence and the Temporal store.

The archive opens with `manifest.json` (format version, Alembic revision, row counts, and the
SHA-256 and size of every other member), then `db/NN-<table>.jsonl` in foreign-key order,
`evidence/<sha256[:2]>/<sha256>` for every file the dumped rows reference, and
`temporal/temporal.sqlite3` when the embedded dev server's store exists.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sqlite3
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, column, select, table

from duban.errors import DomainError, NotFound
from duban.services.dump import reflect_tables, write_table
from duban.services.evidence import BlobStore, EvidenceCorrupt

FORMAT = "duban-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TEMPORAL_FILE = "temporal.sqlite3"
TEMPORAL_MEMBER = f"temporal/{TEMPORAL_FILE}"
EVIDENCE_MEMBER = re.compile(r"^evidence/([0-9a-f]{2})/(\1[0-9a-f]{62})$")
TABLE_MEMBER = re.compile(r"^db/[0-9]{2,4}-[a-z_][a-z0-9_]*\.jsonl$")
CHUNK = 1024 * 1024


class BackupError(DomainError):
    """A backup or restore that was refused; nothing was written."""

    code = "backup"


@dataclass(frozen=True)
class BackupResult:
    """What an archive holds: revision, rows per table, evidence files, Temporal store."""

    path: Path
    revision: str
    rows: dict[str, int]
    evidence: int
    temporal: bool
    evidence_missing: list[str] = field(default_factory=list)


@dataclass
class _Members:
    """Staged members in archive order, each with its SHA-256 and size."""

    files: dict[str, Path] = field(default_factory=dict)
    digests: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, name: str, path: Path, sha256: str) -> None:
        self.files[name] = path
        self.digests[name] = {"sha256": sha256, "size": path.stat().st_size}


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _HashingWriter(io.RawIOBase):
    """A file writer that hashes what passes through it."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.digest.update(data)
        return self.out.write(data)


def create_backup(
    *, engine: Engine, data_dir: Path, output: Path, now: datetime, store: BlobStore | None = None
) -> BackupResult:
    """Write the archive to `output` (temp name, then rename); refuse to overwrite a file.

    `store` (an object store) is where the evidence is read from; None: `data_dir/evidence`.
    """
    if output.exists():
        raise BackupError(f"输出文件已存在，不覆盖：{output}")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".duban-backup-") as tmp:
        staging, members = Path(tmp), _Members()
        revision, rows, shas = _dump_database(engine, staging, members)
        missing = (
            _fetch_evidence(store, shas, staging, members)
            if store is not None
            else _collect_evidence(data_dir / "evidence", shas, members)
        )
        temporal = _copy_temporal(data_dir / TEMPORAL_FILE, staging, members)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": now.isoformat(),
            "alembic_revision": revision,
            "source_dialect": engine.dialect.name,
            "tables": rows,
            "evidence": len(shas) - len(missing),
            "evidence_missing": missing,
            "temporal": temporal,
            "members": members.digests,
        }
        _write_archive(output, staging, manifest, members, mtime=int(now.timestamp()))
    counts = {t["name"]: int(t["rows"]) for t in rows}
    return BackupResult(output, revision, counts, len(shas) - len(missing), temporal, missing)


def _snapshot(connection: Connection) -> Connection:
    """Open one read transaction that sees a single snapshot of every table."""
    if connection.dialect.name == "postgresql":
        connection = connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        connection.begin()
    else:
        # pysqlite opens no transaction for reads; an explicit one holds the WAL snapshot.
        connection.begin()
        connection.exec_driver_sql("BEGIN")
    return connection


def _dump_database(
    engine: Engine, staging: Path, members: _Members
) -> tuple[str, list[dict[str, Any]], list[str]]:
    """Dump every table in one snapshot; return revision, table list and evidence hashes."""
    with engine.connect() as raw:
        conn = _snapshot(raw)
        revision = MigrationContext.configure(conn).get_current_revision()
        if revision is None:
            raise BackupError("数据库尚未初始化（没有迁移版本），无可备份。")
        rows: list[dict[str, Any]] = []
        tables = reflect_tables(conn)
        for number, tbl in enumerate(tables, start=1):
            name = f"db/{number:02d}-{tbl.name}.jsonl"
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as out:
                writer = _HashingWriter(out)
                count = write_table(conn, tbl, writer)  # type: ignore[arg-type]
            members.add(name, path, writer.digest.hexdigest())
            rows.append({"name": tbl.name, "rows": count, "member": name})
        shas: list[str] = []
        if any(t.name == "evidence" for t in tables):
            evidence = table("evidence", column("sha256"))
            shas = sorted(conn.scalars(select(evidence.c.sha256).distinct()))
        conn.rollback()
    return revision, rows, shas


def _collect_evidence(root: Path, shas: list[str], members: _Members) -> list[str]:
    """Add each referenced file whose content matches its name; return the ones missing."""
    missing: list[str] = []
    for sha in shas:
        path = root / sha[:2] / sha
        if not path.is_file() or file_sha256(path) != sha:
            missing.append(sha)
            continue
        members.add(f"evidence/{sha[:2]}/{sha}", path, sha)
    return missing


def _fetch_evidence(
    store: BlobStore, shas: list[str], staging: Path, members: _Members
) -> list[str]:
    """Copy each referenced, verified object into staging; return the ones missing or damaged.

    A store that is down raises EvidenceStoreUnavailable: no archive is written.
    """
    missing: list[str] = []
    for sha in shas:
        try:
            handle = store.open_verified(sha)
        except (NotFound, EvidenceCorrupt):
            missing.append(sha)
            continue
        target = staging / "evidence" / sha[:2] / sha
        target.parent.mkdir(parents=True, exist_ok=True)
        with handle, target.open("wb") as out:
            while chunk := handle.read(CHUNK):
                out.write(chunk)
        members.add(f"evidence/{sha[:2]}/{sha}", target, sha)
    return missing


def _copy_temporal(source: Path, staging: Path, members: _Members) -> bool:
    """Copy the Temporal store with SQLite's online backup, consistent while the server runs."""
    if not source.is_file():
        return False
    target = staging / TEMPORAL_MEMBER
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        # One self-contained file: the server turns WAL back on when it opens it.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()
    members.add(TEMPORAL_MEMBER, target, file_sha256(target))
    return True


def _write_archive(
    output: Path, staging: Path, manifest: dict[str, Any], members: _Members, *, mtime: int
) -> None:
    """Write manifest first, then every member, to a temp name fsynced and renamed."""
    temp = staging / "archive.tar.gz"
    body = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    with tarfile.open(temp, "w:gz") as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(body), mtime, 0o644
        tar.addfile(info, io.BytesIO(body))
        for name, path in members.files.items():
            member = tar.gettarinfo(str(path), arcname=name)
            member.uid = member.gid = 0
            member.uname = member.gname = ""
            with path.open("rb") as handle:
                tar.addfile(member, handle)
    with temp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, output)
