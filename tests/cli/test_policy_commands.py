"""`duban policy parse` and `duban policy import` run as the real console script."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from cli.devserver import free_port, running_dev_server
from duban.db import make_engine
from duban.domain import task_workflow_id
from duban.models import Assignment, Policy, PolicyItem, PolicyVersion

ROOT = Path(__file__).resolve().parents[2]
DUBAN = Path(sys.executable).with_name("duban")
JILIN = ROOT / "policies" / "jilin-2021-consolidation-revitalization.txt"


def run(
    *args: str | Path, data_dir: Path, db_url: str | None = None, temporal: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the console script on `db_url` (else the data dir's SQLite file), Temporal only when given."""
    env = {k: v for k, v in os.environ.items() if k not in ("TEMPORAL_ADDRESS", "DATABASE_URL")}
    env.update(DUBAN_DATA_DIR=str(data_dir), COLUMNS="200")
    if db_url:
        env["DATABASE_URL"] = db_url
    if temporal:
        env["TEMPORAL_ADDRESS"] = temporal
    return subprocess.run(
        [str(DUBAN), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def policy_rows(db_url: str) -> tuple[int, int, int, int]:
    """Return the row counts of policy, policy_version, policy_item and assignment."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                conn.scalar(select(func.count()).select_from(t)) or 0
                for t in (Policy, PolicyVersion, PolicyItem, Assignment)
            )
    finally:
        engine.dispose()


def shown_assignments(db_url: str) -> int:
    """Return how many assignments the web may show (their workflow start was confirmed)."""
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            stmt = select(func.count()).where(Assignment.pending_start.is_(False))
            return conn.scalar(stmt) or 0
    finally:
        engine.dispose()


def empty(p: Path) -> Path:
    p.write_bytes(b"")
    return p


def binary(p: Path) -> Path:
    p.write_bytes(bytes(range(256)) * 64)
    return p


def latin1(p: Path) -> Path:
    p.write_bytes(
        "Résumé des tâches - façade, naïve, crème brûlée, déjà vu.\n".encode("latin-1") * 20
    )
    return p


def huge(p: Path) -> Path:
    with p.open("wb") as handle:  # sparse: instant, no 50 MB written
        handle.truncate(50 * 1024 * 1024)
    return p


def itemless(p: Path) -> Path:
    p.write_text("关于做好某项工作的通知\n这是一段没有任何编号条目的文字。\n", encoding="utf-8")
    return p


def missing(p: Path) -> Path:
    return p.with_name("does-not-exist.txt")


def directory(p: Path) -> Path:
    p.mkdir()
    return p


BAD_INPUTS: dict[str, Callable[[Path], Path]] = {
    "empty": empty,
    "binary": binary,
    "non-utf8": latin1,
    "50mb": huge,
    "itemless": itemless,
    "missing": missing,
    "directory": directory,
}


def assert_one_line_failure(proc: subprocess.CompletedProcess[str]) -> None:
    """A refused input: non-zero exit, exactly one `duban:` line on stderr, no traceback."""
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("duban: ")


def test_parse_json_prints_the_contract(tmp_path: Path) -> None:
    proc = run(
        "policy", "parse", JILIN, "--json", db_url=f"sqlite:///{tmp_path}/x.db", data_dir=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {"title", "issued", "sections", "items", "attachments"} <= doc.keys()
    assert doc["issued"] == "2021-04-02"
    assert len(doc["items"]) == 29
    tasks = [i for i in doc["items"] if i["units"]]
    assert len(tasks) == 25
    assert sum(len(i["units"]) for i in tasks) == 132
    assert {"name", "as_written", "role"} <= tasks[0]["units"][0].keys()
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_parse_refuses_bad_input_in_one_line(case: str, tmp_path: Path) -> None:
    path = BAD_INPUTS[case](tmp_path / f"{case}.txt")
    assert_one_line_failure(
        run(
            "policy",
            "parse",
            path,
            "--json",
            db_url=f"sqlite:///{tmp_path}/x.db",
            data_dir=tmp_path,
        )
    )


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_import_refuses_bad_input_and_stores_nothing(
    case: str, db_url: str, tmp_path: Path
) -> None:
    path = BAD_INPUTS[case](tmp_path / f"{case}.txt")
    assert_one_line_failure(run("policy", "import", path, db_url=db_url, data_dir=tmp_path))
    assert policy_rows(db_url) == (0, 0, 0, 0)


def test_import_jilin_twice_says_unchanged(db_url: str, tmp_path: Path) -> None:
    first = run("policy", "import", JILIN, db_url=db_url, data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (
        "任务 25 项" in first.stdout
        and "分工 132 个" in first.stdout
        and "部门 35 个" in first.stdout
    )
    assert "TEMPORAL_ADDRESS" in first.stdout
    second = run("policy", "import", JILIN, db_url=db_url, data_dir=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "未变化" in second.stdout and "unchanged" in second.stdout
    assert policy_rows(db_url) == (1, 1, 29, 132)


def test_import_into_a_fresh_sqlite_file_migrates_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/new.sqlite3"
    proc = run(
        "policy", "import", JILIN, "--key", "jilin", "--no-start", db_url=url, data_dir=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "TEMPORAL_ADDRESS" not in proc.stdout
    assert policy_rows(url) == (1, 1, 29, 132)


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    assert_one_line_failure(run("policy", "import", JILIN, db_url=url, data_dir=tmp_path))


def test_bad_key_is_one_line_and_stores_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/k.sqlite3"
    assert_one_line_failure(
        run("policy", "import", JILIN, "--key", "Not A Key", db_url=url, data_dir=tmp_path)
    )
    assert policy_rows(url) == (0, 0, 0, 0)


async def test_import_starts_task_workflows_on_temporal(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.sqlite3"
    async with running_dev_server(db_file=tmp_path / "temporal.sqlite3", port=None) as server:
        first = await asyncio.to_thread(
            run,
            "policy",
            "import",
            JILIN,
            "--key",
            "jl",
            db_url=url,
            data_dir=tmp_path,
            temporal=server.address,
        )
        assert first.returncode == 0, first.stderr
        assert "新启动 25 个" in first.stdout
        assert shown_assignments(url) == 132
        second = await asyncio.to_thread(
            run,
            "policy",
            "import",
            JILIN,
            "--key",
            "jl",
            db_url=url,
            data_dir=tmp_path,
            temporal=server.address,
        )
        assert second.returncode == 0, second.stderr
        assert "未变化" in second.stdout and "已在运行 25 个" in second.stdout
        client = await Client.connect(server.address)
        description = await client.get_workflow_handle(task_workflow_id("jl", 5)).describe()
        assert description.workflow_type == "PolicyTaskWorkflow"


def test_unreachable_temporal_is_one_line_after_storing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/u.sqlite3"
    proc = run(
        "policy",
        "import",
        JILIN,
        db_url=url,
        data_dir=tmp_path,
        temporal=f"127.0.0.1:{free_port()}",
    )
    assert_one_line_failure(proc)
    assert "stored" in proc.stderr
    assert policy_rows(url) == (1, 1, 29, 132)
    assert shown_assignments(url) == 0  # stored, but no one sees it until its workflows run


def test_import_refuses_items_without_units(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "unitless.txt"
    path.write_text(
        "关于做好某项工作的通知\n一、工作任务\n(一)加强组织领导，明确工作责任。\n"
        "(二)做好宣传引导，营造良好氛围。\n",
        encoding="utf-8",
    )
    proc = run("policy", "import", path, db_url=db_url, data_dir=tmp_path)
    assert_one_line_failure(proc)
    assert "责任单位" in proc.stderr
    assert policy_rows(db_url) == (0, 0, 0, 0)
