"""The embedded dev server starts, answers, keeps its SQLite file and stops cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from duban.devserver import DevServer, DevServerError, answers, find_temporal_binary, free_port


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
