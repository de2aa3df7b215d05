"""`duban dev` brings up the whole stack on one data dir, and a second run reuses everything."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import func, select

from actions.temporal import connect
from cli.dev import DevOptions, run
from cli.devserver import free_port, port_is_free
from duban.db import make_engine, make_session_factory
from duban.models import Assignment, Policy, PolicyVersion, User
from duban.settings import Settings
from tests.faults.stack import eventually

JILIN_ASSIGNMENTS = 132


async def _run_once(settings: Settings, options: DevOptions) -> tuple[int, int]:
    """Run the stack until the web answers and every assignment workflow runs; return counts."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, options, stop))
    try:

        async def web_up() -> bool:
            # Read the port at each try: the stack may move off a port that is taken.
            url = f"http://127.0.0.1:{options.port}/openapi.json"
            async with httpx.AsyncClient() as http:
                return (await http.get(url)).status_code == 200

        await eventually(web_up, within=120)
        address = f"127.0.0.1:{options.temporal_port}"
        client = await connect(settings.model_copy(update={"temporal_address": address}))
        query = "WorkflowType = 'AssignmentWorkflow' AND ExecutionStatus = 'Running'"

        async def all_running() -> int:
            count = (await client.count_workflows(query)).count
            return count if count >= JILIN_ASSIGNMENTS else 0

        running = await eventually(all_running, within=120)
        total = (await client.count_workflows("WorkflowType = 'AssignmentWorkflow'")).count
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
    return running, total


async def test_dev_twice_on_one_data_dir(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "var", secret_key="dev-test")
    first = DevOptions(port=free_port(), temporal_port=free_port(), ui_port=None)
    running, total = await _run_once(settings, first)
    assert running == total == JILIN_ASSIGNMENTS
    assert any(m.startswith("首个管理员：admin / ") for m in first.messages)
    assert any("已创建演示用户" in m and "duban-demo" in m for m in first.messages)
    assert any("新启动 25 个" in m for m in first.messages), first.messages

    second = DevOptions(port=free_port(), temporal_port=free_port(), ui_port=None)
    running, total = await _run_once(settings, second)
    assert (
        running == total == JILIN_ASSIGNMENTS
    )  # the same workflows, carried on from the SQLite file
    assert not any("首个管理员" in m or "已创建演示用户" in m for m in second.messages)
    assert any("未变化" in m for m in second.messages), second.messages
    assert any("新启动 0 个" in m for m in second.messages), second.messages

    engine = make_engine(settings.sqlalchemy_url)
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Policy)) == 1
        assert session.scalar(select(func.count()).select_from(PolicyVersion)) == 1
        assert session.scalar(select(func.count()).select_from(Assignment)) == JILIN_ASSIGNMENTS
        assert session.scalar(select(func.count()).where(User.username == "admin")) == 1
    engine.dispose()
    assert (tmp_path / "var" / "temporal.sqlite3").stat().st_size > 0


async def test_dev_moves_off_ports_that_are_taken(tmp_path: Path):
    import socket

    settings = Settings(data_dir=tmp_path / "var", secret_key="dev-test")
    with socket.socket() as web_squatter, socket.socket() as temporal_squatter:
        web_squatter.bind(("127.0.0.1", 0))
        web_squatter.listen()
        temporal_squatter.bind(("127.0.0.1", 0))
        temporal_squatter.listen()
        taken_web = web_squatter.getsockname()[1]
        taken_temporal = temporal_squatter.getsockname()[1]
        options = DevOptions(port=taken_web, temporal_port=taken_temporal, ui_port=None)
        running, _total = await _run_once(settings, options)
    assert running == JILIN_ASSIGNMENTS
    assert options.port != taken_web and options.temporal_port != taken_temporal
    assert f"端口 {taken_web} 已被占用，网页改用端口 {options.port}" in options.messages
    assert any(f"端口 {taken_temporal} 已被占用" in m for m in options.messages)


DEV_SCRIPT = """
import asyncio, logging, sys
from pathlib import Path
from cli.dev import DevOptions, run
from duban.settings import Settings
logging.basicConfig(level=logging.INFO)
options = DevOptions(port=int(sys.argv[2]), temporal_port=int(sys.argv[3]), ui_port=None, policy=None)
asyncio.run(run(Settings(data_dir=Path(sys.argv[1]), secret_key="x"), options))
"""


async def test_ctrl_c_stops_every_part(tmp_path: Path):
    web_port, temporal_port = free_port(), free_port()
    out = tmp_path / "dev.log"
    args = [str(tmp_path / "var"), str(web_port), str(temporal_port)]
    with out.open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", DEV_SCRIPT, *args, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            await eventually(lambda: _contains(out, "督办已启动"), within=120)
            assert not port_is_free(temporal_port)
            proc.send_signal(signal.SIGINT)
            code = await asyncio.wait_for(proc.wait(), 60)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    log = out.read_text()
    assert code == 0, log
    assert "Traceback" not in log
    assert "duban dev stopped" in log
    assert port_is_free(temporal_port) and port_is_free(web_port)


async def _contains(path: Path, text: str) -> bool:
    return text in await asyncio.to_thread(path.read_text, errors="replace")
