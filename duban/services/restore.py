"""`duban restore`: load a backup onto an empty data dir and database, all or nothing.

Order: read the manifest and re-hash every member (nothing is written before the whole archive
checks out), refuse a target that holds anything, stage the members inside the data dir, load
the rows in one transaction (migrated to the backup's revision, then to head), move the files
into place, commit. A failure before the commit removes every file it placed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.orm import Session

from duban.migrate import known_revision, migrate_connection
from duban.services.audit import ChainReport, verify_chain
from duban.services.backup import (
    CHUNK,
    EVIDENCE_MEMBER,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    TABLE_MEMBER,
    TEMPORAL_FILE,
    TEMPORAL_MEMBER,
    BackupError,
)
from duban.services.dump import load_table, reflect_tables, reset_sequences, row_counts
from duban.services.evidence import BlobStore


class _Digest(BaseModel):
    """A member's hash and size as the manifest lists them."""

    sha256: str
    size: int


class _Table(BaseModel):
    """A table's entry in the manifest."""

    name: str
    rows: int
    member: str


class _Manifest(BaseModel):
    """The manifest fields a restore relies on (the others are information)."""

    alembic_revision: str
    tables: list[_Table]
    members: dict[str, _Digest]


_CORRUPT = (tarfile.TarError, EOFError, zlib.error, OSError, UnicodeDecodeError, ValueError)


@dataclass(frozen=True)
class RestoreResult:
    """What was restored: revision, rows per table, evidence files, Temporal store."""

    revision: str
    rows: dict[str, int]
    evidence: int
    temporal: bool
    chain: ChainReport


def restore_backup(
    *, archive: Path, engine: Engine, data_dir: Path, store: BlobStore | None = None
) -> RestoreResult:
    """Restore `archive` onto an empty data dir and database; refuse anything else.

    With `store` (an object store) the evidence goes there, before any row is loaded: a store
    that is down refuses the restore with nothing loaded. Objects already there are kept.
    """
    manifest = read_manifest(archive=archive)
    _walk(archive, manifest, sink=None)
    _refuse_non_empty_files(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)  # the SQLite default lives in it
    _refuse_non_empty_database(engine)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".restore-") as tmp:
        staging = Path(tmp)
        _walk(archive, manifest, sink=staging)
        if store is not None:
            _upload_evidence(store, staging, manifest)
        placed: list[Path] = []
        try:
            with _transaction(engine) as conn:
                rows = _load_database(conn, manifest, staging)
                placed = _place_files(staging, data_dir, manifest, evidence=store is None)
        except BaseException:
            for path in placed:
                path.unlink(missing_ok=True)
            raise
    evidence = sum(1 for name in manifest["members"] if EVIDENCE_MEMBER.match(name))
    with Session(engine) as session:
        chain = verify_chain(session=session)
    temporal = TEMPORAL_MEMBER in manifest["members"]
    return RestoreResult(manifest["alembic_revision"], rows, evidence, temporal, chain)


def read_manifest(*, archive: Path) -> dict[str, Any]:
    """Return the archive's manifest after checking its format, version and member names."""
    if not archive.is_file():
        raise BackupError(f"备份文件不存在：{archive}")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            first = tar.next()
            handle = tar.extractfile(first) if first and first.name == MANIFEST else None
            if handle is None:
                raise BackupError(f"不是 duban 备份（缺少 {MANIFEST}）：{archive}")
            manifest = json.loads(handle.read())
    except _CORRUPT as exc:
        raise BackupError(f"备份文件已损坏或不完整：{archive}（{type(exc).__name__}）") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"不是 duban 备份（清单格式不符）：{archive}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"不支持的备份格式版本 {manifest.get('format_version')!r}（本程序支持 {FORMAT_VERSION}）"
        )
    _check_names(manifest)
    if not known_revision(str(manifest.get("alembic_revision"))):
        raise BackupError(
            f"备份的数据库版本 {manifest.get('alembic_revision')} 不为本程序所知（来自更新的 duban？）"
        )
    return manifest


def _check_names(manifest: dict[str, Any]) -> None:
    """Accept only the member names duban writes, so nothing lands outside the staging dir."""
    try:
        _Manifest.model_validate(manifest)
    except ValidationError as exc:
        raise BackupError(f"备份清单不完整或格式不符：{exc.errors()[0]['loc']}") from exc
    for name in manifest["members"]:
        if not (TABLE_MEMBER.match(name) or EVIDENCE_MEMBER.match(name) or name == TEMPORAL_MEMBER):
            raise BackupError(f"备份清单含有不认识的成员：{name!r}")
    listed = {t["member"] for t in manifest["tables"]}
    if not listed <= set(manifest["members"]):
        raise BackupError("备份清单的数据表与成员列表不符")


def _walk(archive: Path, manifest: dict[str, Any], *, sink: Path | None) -> None:
    """Re-hash every member against the manifest; with a sink, also write them under it."""
    expected: dict[str, dict[str, Any]] = manifest["members"]
    seen: set[str] = set()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name == MANIFEST:
                    continue
                if member.name not in expected or member.name in seen or not member.isfile():
                    raise BackupError(f"备份含有清单之外的成员：{member.name!r}")
                handle = tar.extractfile(member)
                assert handle is not None
                digest = _copy(handle, sink / member.name if sink else None)
                want = expected[member.name]
                named = EVIDENCE_MEMBER.match(member.name)
                if (digest, member.size) != (want["sha256"], want["size"]) or (
                    named is not None and named[2] != digest
                ):
                    raise BackupError(f"备份成员校验失败（SHA-256 不符）：{member.name}")
                seen.add(member.name)
    except _CORRUPT as exc:
        raise BackupError(f"备份文件已损坏或不完整：{archive}（{type(exc).__name__}）") from exc
    absent = sorted(set(expected) - seen)
    if absent:
        raise BackupError(f"备份不完整，缺少成员：{absent[0]}（共 {len(absent)} 个）")


def _copy(handle: Any, target: Path | None) -> str:
    """Hash a member's bytes, writing them to `target` when given."""
    digest = hashlib.sha256()
    out = None
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        out = target.open("wb")
    try:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if out is not None:
                _write(out, chunk)
        if out is not None:
            out.flush()
            os.fsync(out.fileno())
    finally:
        if out is not None:
            out.close()
    return digest.hexdigest()


def _write(out: Any, chunk: bytes) -> None:
    """Write a staged chunk; a full or read-only disk is not a damaged archive."""
    try:
        out.write(chunk)
    except OSError as exc:
        raise BackupError(f"无法写入数据目录（{exc.strerror or exc}），未做任何更改。") from exc


def _refuse_non_empty_files(data_dir: Path) -> None:
    """Refuse a data dir that already holds evidence files or a Temporal store."""
    if (data_dir / TEMPORAL_FILE).exists():
        raise BackupError(f"目标数据目录已有 Temporal 存储，拒绝覆盖：{data_dir / TEMPORAL_FILE}")
    evidence = data_dir / "evidence"
    if evidence.is_dir() and any(p.is_file() for p in evidence.rglob("*")):
        raise BackupError(f"目标数据目录已有证据文件，拒绝合并：{evidence}")


def _refuse_non_empty_database(engine: Engine) -> None:
    """Refuse a database with any row (a migrated one holds only the chain's empty head)."""
    with engine.connect() as conn:
        for table, count in row_counts(conn, reflect_tables(conn)):
            if table.name == "audit_chain":
                count = conn.scalar(select(table.c.id).where(table.c.seq != 0).limit(1)) or 0
            if count:
                raise BackupError(f"目标数据库非空（表 {table.name} 有数据），拒绝合并。")


@contextmanager
def _transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction around the whole load, DDL included, committed only if all went well."""
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Checked at the end instead (PRAGMA foreign_key_check): SQLite's batch migrations
            # rebuild tables, which an immediate foreign-key check would refuse mid-way.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                if sqlite:
                    # pysqlite runs DDL outside any transaction unless one is opened explicitly.
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
                broken = (
                    conn.exec_driver_sql("PRAGMA foreign_key_check").first() if sqlite else None
                )
                if broken is not None:
                    raise BackupError(f"恢复后外键不一致（表 {broken[0]}），已全部撤销。")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def _load_database(conn: Connection, manifest: dict[str, Any], staging: Path) -> dict[str, int]:
    """Migrate to the backup's revision, load every table, reset sequences, migrate to head."""
    migrate_connection(conn, manifest["alembic_revision"])
    tables = {t.name: t for t in reflect_tables(conn)}
    for seeded, count in row_counts(conn, tables.values()):
        if count:  # rows a migration seeds (the chain's empty head): the backup's replace them
            conn.execute(delete(seeded))
    rows: dict[str, int] = {}
    for entry in manifest["tables"]:
        table = tables.get(entry["name"])
        if table is None:
            raise BackupError(f"目标数据库在备份的版本下没有表 {entry['name']}")
        with (staging / entry["member"]).open("rb") as lines:
            try:
                rows[table.name] = load_table(conn, table, lines)
            except ValueError as exc:
                raise BackupError(f"备份数据无法载入表 {table.name}：{exc}") from exc
        if rows[table.name] != entry["rows"]:
            raise BackupError(f"表 {table.name} 的行数与清单不符")
    reset_sequences(conn, tables.values())
    migrate_connection(conn, "head")
    return rows


def _upload_evidence(store: BlobStore, staging: Path, manifest: dict[str, Any]) -> None:
    """Put every evidence member into the object store (re-hashed there by its address)."""
    for name in manifest["members"]:
        if EVIDENCE_MEMBER.match(name) is not None:
            with (staging / name).open("rb") as handle:
                store.put(handle, filename=name)


def _place_files(
    staging: Path, data_dir: Path, manifest: dict[str, Any], *, evidence: bool = True
) -> list[Path]:
    """Move evidence (named by its verified hash; unless in an object store) and the Temporal
    store into the data dir."""
    placed: list[Path] = []
    try:
        for name in manifest["members"]:
            match = EVIDENCE_MEMBER.match(name)
            if match is None or not evidence:
                continue
            final = data_dir / "evidence" / match[1] / match[2]
            final.parent.mkdir(parents=True, exist_ok=True)
            (staging / name).chmod(0o444)
            os.replace(staging / name, final)
            placed.append(final)
        if TEMPORAL_MEMBER in manifest["members"]:
            os.replace(staging / TEMPORAL_MEMBER, data_dir / TEMPORAL_FILE)
            placed.append(data_dir / TEMPORAL_FILE)
    except BaseException:
        for path in placed:
            path.unlink(missing_ok=True)
        raise
    return placed
