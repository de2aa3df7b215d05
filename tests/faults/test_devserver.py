"""The embedded dev server starts, answers, keeps its SQLite file and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from temporalio.client import Client

from duban.devserver import (
    DevServer,
    DevServerError,
    answers,
    find_temporal_binary,
    free_port,
    port_is_free,
)
from tests.faults.stack import eventually


def test_binary_is_found():
    assert find_temporal_binary().name == "temporal"


async def test_starts_answers_and_stops(tmp_path: Path):
    server = DevServer.launch(db_file=tmp_path / "temporal.sqlite3", port=None)
    try:
        await server.wait_ready()
        await answers(server.address)
        client = await Client.connect(server.address)
        assert (await client.count_workflows()).count == 0
    finally:
        code = server.stop()
    assert code == 0
    assert server.process.poll() is not None
    assert (tmp_path / "temporal.sqlite3").stat().st_size > 0
    with pytest.raises(Exception):  # noqa: B017 - any connection error; the server is gone
        await answers(server.address)


async def test_port_in_use_is_refused(tmp_path: Path):
    first = DevServer.launch(db_file=tmp_path / "a.sqlite3", port=free_port())
    try:
        await first.wait_ready()
        with pytest.raises(DevServerError, match="已被占用"):
            DevServer.launch(db_file=tmp_path / "b.sqlite3", port=first.port)
    finally:
        first.stop()


async def test_crash_at_start_is_reported(tmp_path: Path):
    server = DevServer.launch(db_file=tmp_path / "c.sqlite3", port=None)
    server.kill()
    with pytest.raises(DevServerError, match="已退出"):
        await server.wait_ready(within=10)


PARENT_SCRIPT = """
import sys, time
from pathlib import Path
from duban.devserver import DevServer
server = DevServer.launch(db_file=Path(sys.argv[1]), port=int(sys.argv[2]))
print(server.process.pid, flush=True)
time.sleep(600)
"""


async def test_server_dies_with_a_killed_parent(tmp_path: Path):
    port = free_port()
    parent = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PARENT_SCRIPT,
        str(tmp_path / "t.sqlite3"),
        str(port),
        stdout=asyncio.subprocess.PIPE,
    )
    assert parent.stdout is not None
    child_pid = int(await asyncio.wait_for(parent.stdout.readline(), 30))
    await eventually(lambda: _listening(port), within=60)
    parent.kill()
    await parent.wait()
    await eventually(lambda: _gone(child_pid), within=30)
    assert port_is_free(port)


async def _listening(port: int) -> bool:
    return not port_is_free(port)


async def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie is gone too: it was reparented to init, which reaps it.
    stat = await asyncio.to_thread(Path(f"/proc/{pid}/stat").read_text)
    return stat.split()[2] == "Z"
