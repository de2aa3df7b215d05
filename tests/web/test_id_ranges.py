"""Ids out of the columns' range and odd search text get a 4xx on every route, as every role."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy.orm import Session, sessionmaker

from duban.domain import UserRole
from tests.db import BACKENDS
from tests.web.browser import add_user, csrf_of, sign_in
from tests.workspace import make_assignment, make_department, make_policy

# 0 and -1 name no row; 2^31 overflows PostgreSQL's integer, 2^63 SQLite's; 10^30 overflows
# both; "³" passes str.isdigit() but not int().
PROBES = ("0", "-1", str(2**31), str(2**63), str(10**30), "³")
SEARCHES = ("³", "99999999999999999999", "٣", "1" * 100, "%_\\", "0")
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """This module runs on SQLite and on PostgreSQL (the overflow differs between them)."""
    return str(request.param)


def _client(app: FastAPI) -> httpx.AsyncClient:
    # A 500 must show up as a status, not as an exception inside the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def browsers(app: FastAPI) -> AsyncIterator[dict[str, tuple[httpx.AsyncClient, str]]]:
    """One signed-in client (and its CSRF token) per role, all of one department for staff/head."""
    db: sessionmaker[Session] = app.state.session_factory
    with db.begin() as s:
        dept = make_department(s)
        make_assignment(s, policy=make_policy(s), department=dept)
        code = dept.code
    signed: dict[str, tuple[httpx.AsyncClient, str]] = {}
    for role in UserRole:
        _uid, username = add_user(db, role, code if role in {"staff", "head"} else None)
        c = _client(app)
        assert (await sign_in(c, username)).status_code == 303
        signed[role.value] = (c, csrf_of((await c.get("/")).text))
    yield signed
    for c, _ in signed.values():
        await c.aclose()


def id_routes(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    """Return (method, path, id parameter names) of every route with an id in its path."""
    found: list[tuple[str, str, list[str]]] = []
    for route in iter_route_contexts(app.routes):  # included routers too
        if route.path is None:
            continue
        ids = [name for name in PARAM.findall(route.path) if name.endswith("_id")]
        found += [(m, route.path, ids) for m in sorted((route.methods or set()) - {"HEAD"}) if ids]
    return found


def _url(path: str, probed: str, probe: str) -> str:
    return PARAM.sub(lambda m: probe if m.group(1) == probed else "1", path)


async def _send(c: httpx.AsyncClient, csrf: str, method: str, url: str) -> httpx.Response:
    headers = {"x-csrftoken": csrf}
    if method == "GET":
        return await c.get(url, headers=headers)
    if url.startswith("/api/"):
        return await c.request(method, url, json={}, headers=headers)
    return await c.request(method, url, data={"csrf_token": csrf}, headers=headers)


async def test_every_path_id_out_of_range_is_refused(app: FastAPI, browsers) -> None:
    routes = id_routes(app)
    assert len(routes) >= 25, routes  # the walk found the id routes, not an empty table
    failures = []
    for role, (c, csrf) in browsers.items():
        for method, path, ids in routes:
            for probed in ids:
                for probe in PROBES:
                    r = await _send(c, csrf, method, _url(path, probed, probe))
                    if r.status_code >= 500 or r.status_code < 400:
                        failures.append((role, method, path, probed, probe, r.status_code))
    assert failures == []
    c, _ = browsers["supervisor"]  # may read any assignment: the id itself is what is refused
    for path in ("/api/v1/assignments/2147483648", f"/api/v1/assignments/{2**63}"):
        r = await c.get(path)
        assert r.status_code == 422, r.text
        assert r.json()["detail"].startswith("请求参数无效") or "assignment_id" in r.text


BODY_CASES: list[tuple[str, str, str, str, list[Any]]] = [
    ("staff", "/api/v1/assignments/1/submissions", "json", "evidence_ids", ["r"]),
    ("staff", "/assignments/1/submissions", "form", "evidence_ids", ["report", "r"]),
    ("supervisor", "/api/v1/reviews/bulk-approve", "json", "submission_ids", ["rating", 5]),
    ("supervisor", "/reviews/bulk-approve", "form", "submission_ids", ["rating", "5"]),
    ("staff", "/api/v1/notifications", "json", "ids", []),
    ("staff", "/notifications/read", "form", "ids", []),
]


async def test_ids_in_a_body_out_of_range_are_refused(app: FastAPI, browsers) -> None:
    failures = []
    for role, url, kind, field, extra in BODY_CASES:
        c, csrf = browsers[role]
        for probe in PROBES[:5]:
            r = await _post_ids(c, csrf, url, kind, field, int(probe), extra)
            if not 400 <= r.status_code < 500:
                failures.append((url, probe, r.status_code))
    assert failures == []


async def _post_ids(
    c: httpx.AsyncClient, csrf: str, url: str, kind: str, field: str, value: int, extra: list[Any]
) -> httpx.Response:
    headers = {"x-csrftoken": csrf}
    if kind == "json":
        body: dict[str, Any] = {field: [value]}
        if extra == ["r"]:
            body["report"] = "进展"
        elif extra:
            body[extra[0]] = extra[1]
        return await c.post(url, json=body, headers=headers)
    form = {"csrf_token": csrf, field: str(value)}
    if extra:
        form[str(extra[0])] = str(extra[1])
    return await c.post(url, data=form, headers=headers)


async def test_inbox_search_takes_any_text(app: FastAPI, browsers) -> None:
    for role in ("staff", "supervisor"):
        c, _ = browsers[role]
        for q in SEARCHES:
            for url in ("/assignments", "/api/v1/assignments"):
                r = await c.get(url, params={"q": q})
                assert r.status_code == 200, (role, url, q, r.status_code)
        listed = await c.get("/api/v1/assignments", params={"q": "99999999999999999999"})
        assert listed.json() == []
