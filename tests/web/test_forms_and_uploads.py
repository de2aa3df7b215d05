"""CSRF on every state-changing form, and uploads that could run script never do in our origin."""

from __future__ import annotations

import pytest

from duban.domain import UserRole
from tests.web.browser import add_user, api_token, new_client
from tests.web.routes import concrete, is_api, route_keys
from tests.workspace import make_assignment, make_department, make_policy
from web.app import create_app
from web.i18n import t

JSON = {"accept": "application/json"}
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
# A GIF header the sniffer accepts, followed by a page a sniffing browser would run.
POLYGLOT = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;<html><script>alert(1)</script></html>"
PDF_HTML = b"%PDF-1.4\n<html><script>alert(1)</script></html>\n%%EOF\n"


def state_changing(app) -> list[tuple[str, str]]:
    """Return (method, concrete path) of every unsafe route."""
    calls = []
    for key in route_keys(app):
        method, path = key.split(" ", 1)
        if method not in {"GET", "HEAD", "OPTIONS"}:
            calls.append((method, path))
    return calls


async def test_every_form_without_the_token_is_refused(app, client, login_as):
    forbidden = t("error.csrf")
    anonymous = [(m, p) for m, p in state_changing(app) if not is_api(p)]
    assert ("POST", "/login") in anonymous and len(anonymous) > 25
    for method, path in anonymous:
        response = await client.request(method, concrete(path), data={"x": "1"}, headers=JSON)
        assert (response.status_code, response.json()["detail"]) == (403, forbidden), path
    admin = await login_as(UserRole.ADMIN)
    for method, path in state_changing(app):
        # Cookie-authenticated API calls need the token (header) as well; bearer ones cannot be forged.
        kw = {"json": {}} if is_api(path) else {"data": {"csrf_token": "forged"}}
        response = await admin.client.request(method, concrete(path), headers=JSON, **kw)
        assert (response.status_code, response.json()["detail"]) == (403, forbidden), path
    good = await admin.client.post("/admin/departments", data={"csrf_token": admin.csrf})
    assert good.status_code == 422  # past the token, the form itself is checked


async def test_the_session_cookie_flags_follow_the_base_url(settings):
    for base, secure in (("https://duban.example.gov.cn", True), ("http://127.0.0.1:8000", False)):
        app = create_app(settings.model_copy(update={"base_url": base}))
        async with app.router.lifespan_context(app), new_client(app) as c:
            header = (await c.get("/login")).headers["set-cookie"].lower()
        assert "httponly" in header and "samesite=lax" in header
        assert ("; secure" in header) is secure


@pytest.fixture
def assignment(db):
    with db.begin() as s:
        dept = make_department(s, "fpb", "省扶贫办")
        policy = make_policy(s, items=[{"number": 5, "title": "保持主要帮扶政策总体稳定"}])
        return make_assignment(s, policy=policy, department=dept, periods=0).id


@pytest.mark.parametrize(
    ("name", "body"),
    [("x.html", HTML), ("x.svg", SVG), ("x.gif", POLYGLOT), ("x.pdf", PDF_HTML)],
)
async def test_script_bearing_uploads_are_refused_or_served_inert(
    client, db, assignment, name, body
):
    _, staff = add_user(db, UserRole.STAFF, "fpb")
    _, supervisor = add_user(db, UserRole.SUPERVISOR)
    headers = await api_token(client, staff)
    base = f"/api/v1/assignments/{assignment}/evidence"
    up = await client.post(base, files={"file": (name, body, "text/html")}, headers=headers)
    if name in {"x.html", "x.svg"}:
        assert up.status_code in {415, 422}, up.text  # not on the allow-list
        return
    assert up.status_code == 201, up.text
    for reader in (headers, await api_token(client, supervisor)):
        down = await client.get(f"{base}/{up.json()['id']}", headers=reader)
        assert down.status_code == 200 and down.content == body
        assert down.headers["content-type"].split(";")[0] in {"image/gif", "application/pdf"}
        assert down.headers["content-disposition"].startswith("attachment;")
        assert down.headers["x-content-type-options"] == "nosniff"
        assert down.headers["content-security-policy"] == "default-src 'none'; sandbox"
