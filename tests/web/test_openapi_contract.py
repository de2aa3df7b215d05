"""issue #17 item 10 / #14 item 2: schemathesis `--checks all` over every API route as every role.

The app runs on real Temporal (dev server and worker) and a seeded database; each role gets its
own bearer token and its own schemathesis run. Every 5xx and every contract violation fails.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from bench.web_burst import served
from duban.domain import UserRole
from tests.db import BACKENDS
from tests.web.browser import add_user, api_token, new_client
from tests.web.contract import run_schemathesis
from tests.web.workspace_temporal import live_app, start_lead_and_co, workspace_temporal

__all__ = ["live_app", "workspace_temporal"]
ROLES = (
    UserRole.STAFF,
    UserRole.HEAD,
    UserRole.SUPERVISOR,
    UserRole.ASSESSOR,
    UserRole.LEADER,
    UserRole.ADMIN,
)
ONLY = os.environ.get("CONTRACT_ROLES")  # e.g. "staff,admin" while fixing one role's findings


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Unlike the other web tests, the contract runs on SQLite and on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def app(live_app):
    """The app wired to the dev server and a worker."""
    return live_app


@pytest.mark.timeout(1800)  # two cores shared with other work; alone it takes far less
async def test_schemathesis_all_checks_every_role(app, db, tmp_path):
    await start_lead_and_co(app, db)
    tokens = {}
    async with new_client(app) as client:
        for role in ROLES:
            _, username = add_user(
                db, role, "fpb" if role in (UserRole.STAFF, UserRole.HEAD) else None
            )
            tokens[role] = (await api_token(client, username))["Authorization"].split()[1]
    async with served(app, lifespan="off") as base_url:
        roles = [r for r in ROLES if not ONLY or r.value in ONLY.split(",")]
        # The other roles at once (two cores: one for the app, one for schemathesis); the admin
        # alone afterwards, as its run may deactivate or re-password the other accounts.
        others = [r for r in roles if r is not UserRole.ADMIN]
        runs = list(
            await asyncio.gather(
                *(run_schemathesis(base_url, r.value, tokens[r], tmp_path) for r in others)
            )
        )
        if UserRole.ADMIN in roles:
            admin = UserRole.ADMIN
            runs.append(await run_schemathesis(base_url, admin.value, tokens[admin], tmp_path))
    failed = [run for run in runs if run.returncode != 0]
    report = "\n\n".join(f"==== {run.role} (exit {run.returncode})\n{run.output}" for run in failed)
    assert not failed, report
    for run in runs:  # every operation of the document was exercised, as every role
        tested, total = run.operations()
        assert tested == total > 0, (run.role, tested, total)
