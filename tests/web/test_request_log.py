"""Structured logs: each request is one JSON line with its id, route, status and user."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from temporalio.testing import ActivityEnvironment

from duban.domain import UserRole
from duban.logs import configure_logging


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Configure production (JSON) logging into a buffer; put the test run's logging back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("json", stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()


def records(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


async def test_a_request_is_one_json_line_with_its_id_route_status_and_user(
    log_lines, login_as, client
):
    staff = await login_as(UserRole.STAFF)
    given = await staff.client.get("/notifications", headers={"X-Request-ID": "req-from-proxy.42"})
    assert given.status_code == 200 and given.headers["X-Request-ID"] == "req-from-proxy.42"
    made = await client.get("/login", headers={"X-Request-ID": "bad id\twith spaces"})
    generated = made.headers["X-Request-ID"]
    assert len(generated) == 32 and generated != "bad id\twith spaces"
    missing = await client.get(
        "/api/v1/assignments/999999999", headers={"Accept": "application/json"}
    )
    lines = [r for r in records(log_lines) if r["event"] == "request"]
    by_id = {r["request_id"]: r for r in lines}
    page = by_id["req-from-proxy.42"]
    assert page["route"] == "/notifications" and page["status"] == 200
    assert page["user_id"] == staff.user_id and page["method"] == "GET"
    assert page["level"] == "info" and page["logger"] == "duban.web.request"
    assert by_id[generated]["user_id"] is None and by_id[generated]["route"] == "/login"
    assert missing.status_code == 401
    assert {"route": "/api/v1/assignments/{assignment_id}", "status": 401}.items() <= next(
        r for r in lines if r["request_id"] == missing.headers["X-Request-ID"]
    ).items()


def test_an_activity_line_carries_its_workflow_and_run_ids(log_lines):
    def work() -> None:
        logging.getLogger("activities.example").warning("stored %s", "a row")

    env = ActivityEnvironment()
    env.run(work)
    line = next(r for r in records(log_lines) if r["event"] == "stored a row")
    info = env.info
    assert line["workflow_id"] == info.workflow_id and line["run_id"] == info.workflow_run_id
    assert line["activity"] == info.activity_type and line["level"] == "warning"
