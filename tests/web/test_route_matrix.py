"""The RBAC matrix generated from the route table: every route x every role, both databases.

A route missing from tests/web/access_table.py fails `test_every_route_has_a_rule`, so a new
route cannot ship without saying who may call it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from duban.domain import UserRole
from duban.settings import Settings
from tests.db import BACKENDS
from tests.web.access_table import ACCESS, ANONYMOUS, ROLES, Rule
from tests.web.browser import add_user, api_token, csrf_of, new_client, sign_in
from tests.web.routes import concrete, is_api, route_keys
from web.app import create_app

# These end a session (perhaps the caller's own, id 1), so they come after every other route.
LAST: tuple[str, ...] = (
    "POST /account/sessions/{session_id}/end",
    "DELETE /api/v1/auth/sessions/{session_id}",
    "POST /logout",
)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Gates read users and sessions from the database: both of them."""
    return str(request.param)


def test_every_route_has_a_rule(tmp_path):
    keys = route_keys(create_app(Settings(data_dir=tmp_path)))
    assert len(keys) > 100
    missing = sorted(set(keys) - set(ACCESS))
    stale = sorted(set(ACCESS) - set(keys))
    assert (missing, stale) == ([], [])


async def _signed_in(app, db, role: str) -> tuple[httpx.AsyncClient, dict[str, str], str]:
    """Return a client (session cookie), bearer headers and the page CSRF token."""
    client = new_client(app)
    if role == ANONYMOUS:
        return client, {}, csrf_of((await client.get("/login")).text)
    _, username = add_user(db, UserRole(role))
    headers = await api_token(client, username)
    assert (await sign_in(client, username)).status_code == 303
    return client, headers, csrf_of((await client.get("/")).text)


def _request(key: str, csrf: str, headers: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    """Return method, concrete path and the least request a caller could send."""
    method, path = key.split(" ", 1)
    if is_api(path):
        kw: dict[str, Any] = {"headers": headers}
        if method in {"POST", "PATCH"}:
            kw["json"] = {}
        return method, concrete(path), kw
    return method, concrete(path), ({"data": {"csrf_token": csrf}} if method == "POST" else {})


def outcome(response: httpx.Response) -> int | str:
    """Return the status, or "login" for a sign-in-required redirect."""
    location = response.headers.get("location", "")
    if response.status_code == 303 and location.startswith("/login?next="):
        return "login"
    return response.status_code


def verdict(rule: Rule, role: str, key: str, got: int | str) -> int | str:
    """Return `got` when it is what the table promises, else what was promised."""
    if rule.passes(role):
        public = ANONYMOUS in rule.allowed  # a sign-in form may answer 401 itself
        refused = got in {403, 500, "login"} or (got == 401 and not public)
        return f"passes, not {got}" if refused else "passes"
    if role == ANONYMOUS:
        return 401 if is_api(key.split(" ", 1)[1]) else "login"
    return rule.denied


@pytest.mark.parametrize("role", ROLES)
async def test_every_route_as_every_role(app, db, role):
    client, headers, csrf = await _signed_in(app, db, role)
    keys = sorted(route_keys(app), key=lambda k: LAST.index(k) + 1 if k in LAST else 0)
    wrong = []
    try:
        for key in keys:
            method, path, kw = _request(key, csrf, headers)
            got = outcome(await client.request(method, path, **kw))
            want = verdict(ACCESS[key], role, key, got)
            if want != "passes" and want != got:
                wrong.append((key, want, got))
    finally:
        await client.aclose()
    assert wrong == []
