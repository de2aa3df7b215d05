"""Security headers on every page and API route, for anonymous and signed-in users; no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from duban.domain import UserRole
from tests.web.routes import walk
from web.headers import SECURITY_HEADERS

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"
PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_ATTRIBUTE = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def requests_of(app) -> list[tuple[str, str]]:
    """Return (method, concrete path) for every route of the app, ids filled with 1."""
    calls = []
    for route in walk(app.routes):
        if isinstance(route, Mount):
            calls.append(("GET", f"{route.path}/duban.js"))
        elif isinstance(route, APIRoute | Route):
            path = PARAM.sub("1", route.path)
            for method in sorted(route.methods or {"GET"}):
                if method != "HEAD":
                    calls.append((method, path))
    return calls


def assert_secured(response, call) -> None:
    for name, value in SECURITY_HEADERS.items():
        got = response.headers.get(name)
        if name == "content-security-policy" and got and "sandbox" in got:
            continue  # evidence downloads carry a stricter policy of their own
        assert got == value, (call, response.status_code, name, got)
    assert "frame-ancestors 'none'" in SECURITY_HEADERS["content-security-policy"]


@pytest.mark.parametrize("role", [None, UserRole.ADMIN, UserRole.SUPERVISOR, UserRole.STAFF])
async def test_every_route_answers_with_the_security_headers(app, client, login_as, role):
    calls = requests_of(app)
    assert len(calls) > 60 and ("GET", "/openapi.json") in calls
    c = client if role is None else (await login_as(role)).client
    for call in calls:
        method, path = call
        response = await c.request(method, path, headers={"accept": "text/html"})
        assert_secured(response, call)
        api = await c.request(method, path, headers={"accept": "application/json"})
        assert_secured(api, call)


async def test_error_and_static_responses_are_secured(client):
    for path in ("/no-such-page", "/api/v1/no-such", "/static/htmx.min.js", "/login"):
        assert_secured(await client.get(path), path)
    too_big = await client.post(
        "/login", content=b"x" * 10, headers={"content-length": str(10**12)}
    )
    assert_secured(too_big, "413")


def test_templates_have_no_inline_script_or_event_handlers():
    offenders = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        offenders += [f"{template.name}: {m.group(0)[:60]}" for m in INLINE_SCRIPT.finditer(text)]
        offenders += [f"{template.name}: {m.group(0)[:60]}" for m in EVENT_ATTRIBUTE.finditer(text)]
        assert "javascript:" not in text.lower(), template
    assert offenders == []
