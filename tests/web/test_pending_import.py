"""An import shows nothing on the web until the start of its workflows is confirmed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from actions.starter import build_task_inputs, dropped_tasks, settings_offsets
from cli.importer import import_path
from duban.db import make_session_factory
from duban.domain import UserRole
from duban.models import Assignment
from duban.services.policy import mark_started
from tests.db import BACKENDS
from tests.faults.stack import POLICY_TEXT
from tests.web.conftest import LoginAs


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The visibility rule is a query filter: check it on both databases."""
    return str(request.param)


async def test_an_unstarted_import_is_invisible_until_its_start_is_confirmed(
    app: FastAPI, login_as: LoginAs, tmp_path: Path
) -> None:
    # What `duban policy import` leaves when Temporal is down or it is killed after its commit.
    arrange = make_session_factory(app.state.engine)
    path = tmp_path / "pending-policy.txt"
    path.write_text(POLICY_TEXT, encoding="utf-8")
    result = import_path(arrange, path)
    with arrange() as s:
        row = s.scalars(select(Assignment).where(Assignment.policy_id == result.policy_id)).one()
        aid, item, code = row.id, row.item_number, row.department.code
    assert row.pending_start
    boss = await login_as(UserRole.SUPERVISOR)
    staff = await login_as(UserRole.STAFF, code)
    csrf = {"x-csrftoken": staff.csrf}

    async def seen() -> list[Any]:
        board = (await boss.client.get("/api/v1/board")).json()
        return [
            (await staff.client.get("/api/v1/assignments")).json(),
            (await boss.client.get("/api/v1/assignments")).json(),
            board["total"],
            (await staff.client.get(f"/api/v1/assignments/{aid}")).status_code,
            (await boss.client.get(f"/assignments/{aid}")).status_code,
        ]

    assert await seen() == [[], [], 0, 404, 404]
    ack = await staff.client.post(f"/api/v1/assignments/{aid}/acknowledge", json={}, headers=csrf)
    assert ack.status_code == 404
    inbox = await staff.client.get("/assignments")
    assert "按期报送进展" not in inbox.text

    # The web's publish starts workflows through its own (hiding) sessions: the starter sees all.
    with app.state.session_factory() as s:
        tasks = build_task_inputs(s, result.policy_key, settings_offsets(app.state.settings))
        assert [[a.assignment_id for a in t.assignments] for t in tasks] == [[aid]]
        assert dropped_tasks(s, result.policy_key, {item}) == (1, [])
    with arrange.begin() as s:  # what the starter does once the task workflow is running
        assert mark_started(session=s, policy_key=result.policy_key, item_numbers=[item]) == 1
    lists = await seen()
    assert [len(lists[0]), len(lists[1]), lists[2], lists[3], lists[4]] == [1, 1, 1, 200, 200]
