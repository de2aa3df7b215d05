"""`duban backup` / `duban restore` with evidence in an S3-compatible store (moto's server)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from sqlalchemy import inspect

from duban.db import make_engine
from duban.services.evidence_s3 import object_store
from duban.settings import Settings
from tests.cli.test_backup_commands import counts, refused
from tests.cli.test_policy_commands import run
from tests.db import sqlite_url
from tests.s3 import ACCESS_KEY, SECRET_KEY, MotoServer
from tests.services.test_backup import Source, populate


def use_bucket(monkeypatch: pytest.MonkeyPatch, server: MotoServer, bucket: str) -> None:
    """Point the console script's evidence at `bucket` (the env `run` passes on)."""
    for name, value in {
        "DUBAN_S3_BUCKET": bucket,
        "DUBAN_S3_ENDPOINT": server.endpoint,
        "DUBAN_S3_ACCESS_KEY": ACCESS_KEY,
        "DUBAN_S3_SECRET_KEY": SECRET_KEY,
    }.items():
        monkeypatch.setenv(name, value)


def keys(server: MotoServer, bucket: str) -> set[str]:
    listed = server.client().list_objects_v2(Bucket=bucket)
    return {o["Key"] for o in listed.get("Contents", [])}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    root = tmp_path_factory.mktemp("source")
    return populate(sqlite_url(root), root / "data")


def test_backup_reads_the_bucket_and_restore_fills_another(
    source: Source, s3_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_server.bucket()
    store = object_store(s3_server.settings(Settings(), bucket))
    assert store is not None
    for path in (source.data_dir / "evidence").glob("??/*"):  # the source's files, now in S3
        with path.open("rb") as handle:
            store.put(handle, filename=path.name)
    empty = tmp_path / "empty-data"  # no evidence folder: the files can only come from S3
    use_bucket(monkeypatch, s3_server, bucket)
    out = tmp_path / "backup.tar.gz"
    done = run("backup", "--output", out, data_dir=empty, db_url=source.url)
    assert done.returncode == 0, done.stderr
    assert f"{len(source.evidence)} evidence files" in done.stdout and "warning" not in done.stderr
    with tarfile.open(out) as tar:
        archived = {n.rsplit("/", 1)[1] for n in tar.getnames() if n.startswith("evidence/")}
    assert archived == set(source.evidence)

    target_bucket = s3_server.bucket()
    use_bucket(monkeypatch, s3_server, target_bucket)
    target = tmp_path / "target"
    done = run("restore", out, data_dir=target)
    assert done.returncode == 0, done.stderr
    assert keys(s3_server, target_bucket) == {f"evidence/{s[:2]}/{s}" for s in source.evidence}
    assert not (target / "evidence").exists()
    assert counts(Settings(data_dir=target).sqlalchemy_url) == counts(source.url)


def test_store_down_is_one_line_and_changes_nothing(
    source: Source, s3_down: tuple[MotoServer, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = tmp_path / "ok.tar.gz"
    assert (
        run("backup", "--output", ok, data_dir=source.data_dir, db_url=source.url).returncode == 0
    )
    server, bucket = s3_down
    use_bucket(monkeypatch, server, bucket)
    out = tmp_path / "backup.tar.gz"
    refused(run("backup", "--output", out, data_dir=source.data_dir, db_url=source.url), "证据存储")
    assert not out.exists()
    target = tmp_path / "target"
    refused(run("restore", ok, data_dir=target), "证据存储")
    engine = make_engine(Settings(data_dir=target).sqlalchemy_url)
    assert inspect(engine).get_table_names() == []  # refused before anything was loaded
    engine.dispose()
