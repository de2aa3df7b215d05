"""`duban backup` and `duban restore` run as the real console script, refusals included."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecutionStatus

from cli.devserver import running_dev_server
from duban.db import make_engine
from duban.models import Assignment, AuditEvent, Evidence
from tests.cli.test_policy_commands import run
from tests.db import sqlite_url
from tests.services.test_backup import Source, populate

DUBAN = Path(sys.executable).with_name("duban")
Members = dict[str, bytes]


def refused(done: subprocess.CompletedProcess[str], words: str) -> None:
    """Assert one clear `duban:` line on stderr naming the reason, a non-zero exit, no traceback."""
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("duban: "), done.stderr
    assert words in lines[0] and "Traceback" not in done.stderr


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    """A populated SQLite data set, shared by the tests of this module."""
    root = tmp_path_factory.mktemp("source")
    return populate(sqlite_url(root), root / "data")


@pytest.fixture(scope="module")
def archive(source: Source, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The source backed up by `duban backup --output`."""
    out = tmp_path_factory.mktemp("archive") / "backup.tar.gz"
    done = run("backup", "--output", out, data_dir=source.data_dir, db_url=source.url)
    assert done.returncode == 0, done.stderr
    assert "备份完成" in done.stdout and out.is_file()
    return out


def counts(url: str) -> tuple[int, int, int]:
    """Return the numbers of assignments, evidence rows and audit events."""
    engine = make_engine(url)
    with engine.connect() as conn:
        found = tuple(
            conn.scalar(select(func.count()).select_from(t)) or 0
            for t in (Assignment, Evidence, AuditEvent)
        )
    engine.dispose()
    return found  # type: ignore[return-value]


def test_restore_then_audit_verify_passes(archive: Path, source: Source, tmp_path: Path) -> None:
    target = tmp_path / "data"
    done = run("restore", archive, data_dir=target)
    assert done.returncode == 0, done.stderr
    assert "恢复完成" in done.stdout and "audit chain intact" in done.stdout
    verify = run("audit", "verify", data_dir=target)
    assert verify.returncode == 0, verify.stderr
    assert "审计链完整" in verify.stdout
    url = f"sqlite:///{target / 'duban.sqlite3'}"
    assert counts(url) == counts(source.url)
    assert counts(url)[0] == 132
    assert {p.name for p in (target / "evidence").glob("??/*")} == source.evidence
    assert (target / "temporal.sqlite3").is_file()

    again = run("restore", archive, data_dir=target)
    refused(again, "拒绝")
    assert counts(url) == counts(source.url)


def test_restore_refuses_a_database_with_rows(
    archive: Path, source: Source, tmp_path: Path
) -> None:
    done = run("restore", archive, data_dir=tmp_path / "data", db_url=source.url)
    refused(done, "目标数据库非空")
    assert not (tmp_path / "data" / "evidence").exists()


def rewrite(archive: Path, out: Path, change: Callable[[Members], None]) -> Path:
    """Write a copy of the archive with its members changed by `change`, in the same order."""
    with tarfile.open(archive, "r:gz") as tar:
        members: Members = {}
        for m in tar:
            handle = tar.extractfile(m)
            assert handle is not None
            members[m.name] = handle.read()
    change(members)
    with tarfile.open(out, "w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out


def _manifest(members: Members, **changes: object) -> None:
    manifest = json.loads(members["manifest.json"])
    manifest.update(changes)
    members["manifest.json"] = json.dumps(manifest).encode()


def _flip_row(members: Members) -> None:
    name = next(n for n in members if n.endswith("-assignment.jsonl"))
    members[name] = members[name].replace(b'"lead"', b'"co"', 1)


def _flip_evidence(members: Members) -> None:
    name = next(n for n in members if n.startswith("evidence/"))
    members[name] = members[name][:-1] + b"\xff"


def _drop_member(members: Members) -> None:
    del members[next(n for n in members if n.startswith("evidence/"))]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        pytest.param(_flip_row, "SHA-256 不符", id="edited-row"),
        pytest.param(_flip_evidence, "SHA-256 不符", id="edited-evidence"),
        pytest.param(_drop_member, "缺少成员", id="member-left-out"),
        pytest.param(lambda m: _manifest(m, format_version=99), "格式版本 99", id="format-version"),
        pytest.param(
            lambda m: _manifest(m, alembic_revision="ffffffffffff"),
            "不为本程序所知",
            id="unknown-revision",
        ),
        pytest.param(lambda m: m.pop("manifest.json"), "不是 duban 备份", id="no-manifest"),
        pytest.param(
            lambda m: _manifest(m, tables=[{"name": "x"}]), "格式不符", id="manifest-shape"
        ),
    ],
)
def test_restore_refuses_a_tampered_archive_and_writes_nothing(
    archive: Path, tmp_path: Path, change: Callable[[Members], None], words: str
) -> None:
    bad = rewrite(archive, tmp_path / "bad.tar.gz", change)
    done = run("restore", bad, data_dir=tmp_path / "data")
    refused(done, words)
    assert not (tmp_path / "data").exists()


def test_restore_refuses_a_truncated_or_missing_archive(archive: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size * 2 // 3])
    refused(run("restore", cut, data_dir=tmp_path / "data"), "已损坏或不完整")
    refused(
        run("restore", tmp_path / "nowhere.tar.gz", data_dir=tmp_path / "data"), "备份文件不存在"
    )
    assert not (tmp_path / "data").exists()


def test_restore_refuses_a_data_dir_with_evidence(archive: Path, tmp_path: Path) -> None:
    stray = tmp_path / "data" / "evidence" / "ab" / ("ab" + "0" * 62)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")
    refused(run("restore", archive, data_dir=tmp_path / "data"), "已有证据文件")
    assert not (tmp_path / "data" / "duban.sqlite3").exists()


def test_backup_refuses_to_overwrite(archive: Path, source: Source) -> None:
    before = archive.read_bytes()
    done = run("backup", "--output", archive, data_dir=source.data_dir, db_url=source.url)
    refused(done, "输出文件已存在")
    assert archive.read_bytes() == before


async def test_a_running_dev_servers_workflows_come_back(tmp_path: Path) -> None:
    """Back up while the embedded Temporal server runs; a server on the restored store has them."""
    src = tmp_path / "src"
    src.mkdir()
    url = sqlite_url(src)
    archive = tmp_path / "backup.tar.gz"
    ids = [f"task:backup:{n}" for n in range(3)]
    async with running_dev_server(db_file=src / "temporal.sqlite3", port=None) as server:
        client = await Client.connect(server.address)
        for wid in ids:  # no worker polls this queue: the executions wait in the store
            await client.start_workflow("PolicyTaskWorkflow", id=wid, task_queue="backup-test")
        done = await asyncio.to_thread(run, "backup", "--output", archive, data_dir=src, db_url=url)
        assert done.returncode == 0, done.stderr
        assert "Temporal store yes" in done.stdout
    target = tmp_path / "dst"
    restored = await asyncio.to_thread(run, "restore", archive, data_dir=target)
    assert restored.returncode == 0, restored.stderr
    async with running_dev_server(db_file=target / "temporal.sqlite3", port=None) as server:
        client = await Client.connect(server.address)
        for wid in ids:
            described = await client.get_workflow_handle(wid).describe()
            assert described.status == WorkflowExecutionStatus.RUNNING
