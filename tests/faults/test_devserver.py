"""The embedded dev server starts, answers, keeps its SQLite file and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from cli.devserver import (
    START_ATTEMPTS,
    DevServer,
    DevServerError,
    PortTakenError,
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


class Squatted(DevServer):
    """A dev server whose first `squat` launches find their port taken right after the check.

    The squatter listens before the Go binary gets to bind, which is what happens when another
    process takes a port the CLI chose for one of its internal services.
    """

    squat = 1
    launched: list[int]
    squatters: list[socket.socket]

    @classmethod
    def launch(cls, **options: Any) -> DevServer:
        server = super().launch(**options)
        cls.launched.append(server.port)
        if len(cls.launched) <= cls.squat:
            squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            squatter.bind((server.host, server.port))
            squatter.listen()
            cls.squatters.append(squatter)
        return server


@pytest.fixture
def squatted():
    Squatted.launched, Squatted.squatters = [], []
    yield Squatted
    for squatter in Squatted.squatters:
        squatter.close()


async def test_lost_port_race_is_retried(tmp_path: Path, squatted: type[Squatted]):
    squatted.squat = 1
    server = await squatted.start(db_file=tmp_path / "t.sqlite3", port=None)
    try:
        client = await Client.connect(server.address)
        assert (await client.count_workflows()).count == 0
    finally:
        assert server.stop() == 0
    assert len(squatted.launched) == 2
    assert server.port == squatted.launched[1] != squatted.launched[0]


async def test_port_race_gives_up_with_the_reason(tmp_path: Path, squatted: type[Squatted]):
    squatted.squat = START_ATTEMPTS
    with pytest.raises(PortTakenError, match=r"已退出.*address already in use"):
        await squatted.start(db_file=tmp_path / "t.sqlite3", port=None)
    assert len(squatted.launched) == START_ATTEMPTS


PARENT_SCRIPT = """
import sys, time
from pathlib import Path
from cli.devserver import DevServer
server = DevServer.launch(db_file=Path(sys.argv[1]), port=int(sys.argv[2]))
print(server.process.pid, flush=True)
time.sleep(600)  # the parent's life until the test kills it: what is tested, not a wait
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
