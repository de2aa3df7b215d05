"""Who may do what in the workspace: every route x every role, pages and API, real workflows."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from duban.db import utcnow
from duban.domain import UserRole
from duban.models import AuditEvent
from duban.services.evidence import EvidenceStore, record_evidence
from tests.web.browser import add_user, api_token, csrf_of, new_client, sign_in
from tests.web.workspace_temporal import live_app, start_and_wait, workspace_temporal
from tests.workspace import make_assignment, make_department, make_policy

__all__ = ["live_app", "workspace_temporal"]
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@dataclass(frozen=True)
class Route:
    """One workspace route; `act` routes change something, the others only read."""

    name: str
    method: str
    path: str
    api: bool
    act: bool
    ok: int


ROUTES = [
    Route("page inbox", "GET", "/assignments", False, False, 200),
    Route("page detail", "GET", "/assignments/{aid}", False, False, 200),
    Route("page download", "GET", "/assignments/{aid}/evidence/{eid}", False, False, 200),
    Route("page acknowledge", "POST", "/assignments/{aid}/acknowledge", False, True, 303),
    Route("page upload", "POST", "/assignments/{aid}/evidence", False, True, 303),
    Route("page extension", "POST", "/assignments/{aid}/extensions", False, True, 303),
    Route("page submit", "POST", "/assignments/{aid}/submissions", False, True, 303),
    Route("api list", "GET", "/api/v1/assignments", True, False, 200),
    Route("api detail", "GET", "/api/v1/assignments/{aid}", True, False, 200),
    Route("api download", "GET", "/api/v1/assignments/{aid}/evidence/{eid}", True, False, 200),
    Route("api acknowledge", "POST", "/api/v1/assignments/{aid}/acknowledge", True, True, 200),
    Route("api upload", "POST", "/api/v1/assignments/{aid}/evidence", True, True, 201),
    Route("api extension", "POST", "/api/v1/assignments/{aid}/extensions", True, True, 201),
    Route("api submit", "POST", "/api/v1/assignments/{aid}/submissions", True, True, 201),
]
LIST_ROUTES = {"page inbox", "api list"}
DOWNLOAD_ROUTES = {"page download", "api download"}


@pytest.fixture
def app(live_app):
    return live_app


@pytest.fixture
async def world(app, db, settings):
    """Our department's assignment (page and API copies) with one evidence file; workflows running."""
    with db.begin() as s:
        policy = make_policy(
            s,
            items=[
                {"number": 5, "title": "保持主要帮扶政策总体稳定"},
                {"number": 6, "title": "健全防止返贫动态监测和帮扶机制"},
            ],
        )
        own, other = make_department(s, "fpb", "省扶贫办"), make_department(s, "czt", "省财政厅")
        page = make_assignment(s, policy=policy, department=own, periods=0)
        api = make_assignment(s, policy=policy, department=own, item_number=6, periods=0)
        make_assignment(s, policy=policy, department=other, role="co", periods=0)
        store = EvidenceStore(settings.evidence_dir, max_bytes=settings.max_upload_bytes)
        evidence = {
            a.id: record_evidence(
                session=s,
                store=store,
                assignment_id=a.id,
                user_id=None,
                actor="种子",
                filename="a.pdf",
                source=io.BytesIO(PDF),
            ).id
            for a in (page, api)
        }
        key, ids = policy.key, {"page": page.id, "api": api.id}
    await start_and_wait(app, key, list(ids.values()))
    return {"ids": ids, "evidence": evidence}


async def signed_in(
    app, db, role: UserRole | None, department: str | None
) -> tuple[httpx.AsyncClient, dict[str, str], str]:
    """Return a client with a session (pages), bearer headers (API) and the CSRF token."""
    c = new_client(app)
    if role is None:
        return c, {}, csrf_of((await c.get("/login")).text)
    _, username = add_user(db, role, department)
    async with new_client(app) as api:
        headers = await api_token(api, username)
    assert (await sign_in(c, username)).status_code == 303
    return c, headers, csrf_of((await c.get("/")).text)


def request_args(
    route: Route, csrf: str, headers: dict[str, str], evidence_id: int
) -> dict[str, Any]:
    """Return a valid request for the route (the body a real owner would send)."""
    due = utcnow() + timedelta(days=400)
    if route.api:
        kw: dict[str, Any] = {"headers": headers}
        if route.name == "api upload":
            kw["files"] = {"file": ("b.pdf", PDF + b"%api")}
        elif route.name == "api extension":
            kw["json"] = {"requested_due_at": due.isoformat(), "reason": "汛期影响"}
        elif route.name == "api submit":
            kw["json"] = {"report": "按期推进", "evidence_ids": [evidence_id]}
        elif route.method == "POST":
            kw["json"] = {}
        return kw
    data = {"csrf_token": csrf}
    if route.name == "page upload":
        return {"data": data, "files": {"files": ("c.pdf", PDF + b"%page")}}
    if route.name == "page extension":
        data |= {"requested_due_date": f"{due:%Y-%m-%d}", "reason": "汛期影响"}
    if route.name == "page submit":
        data |= {"report": "按期推进", "evidence_ids": str(evidence_id)}
    return {"data": data} if route.method == "POST" else {}


def expected(role: str, route: Route) -> int:
    """Return the status each role must get."""
    if role == "anonymous":
        return 401 if route.api else 303
    if role in {"staff_other", "head_other"}:
        return route.ok if route.name in LIST_ROUTES else 404
    if role in {"assessor", "admin"} and route.name in DOWNLOAD_ROUTES:
        return 403  # evidence is read by the department and the supervisors only (DESIGN.md)
    if role in {"supervisor", "assessor", "admin"}:
        return 403 if route.act else route.ok
    return route.ok


ROLES = {
    "anonymous": (None, None),
    "staff_own": (UserRole.STAFF, "fpb"),
    "head_own": (UserRole.HEAD, "fpb"),
    "staff_other": (UserRole.STAFF, "czt"),
    "head_other": (UserRole.HEAD, "czt"),
    "supervisor": (UserRole.SUPERVISOR, None),
    "assessor": (UserRole.ASSESSOR, None),
    "admin": (UserRole.ADMIN, None),
}


@pytest.mark.parametrize("role", list(ROLES))
async def test_every_route_for_role(app, db, world, role):
    client, headers, csrf = await signed_in(app, db, *ROLES[role])
    seen = []
    try:
        for route in ROUTES:
            aid = world["ids"]["api" if route.api else "page"]
            path = route.path.format(aid=aid, eid=world["evidence"][aid])
            response = await client.request(
                route.method, path, **request_args(route, csrf, headers, world["evidence"][aid])
            )
            seen.append((route.name, response.status_code))
            if response.status_code == 303 and role == "anonymous":
                assert response.headers["location"].startswith("/login")
    finally:
        await client.aclose()
    assert seen == [(r.name, expected(role, r)) for r in ROUTES]
    with db.begin() as s:
        downloads = s.scalars(
            select(AuditEvent).where(AuditEvent.kind == "evidence_downloaded")
        ).all()
    readers = [e.data["role"] for e in downloads]
    reads = sum(expected(role, r) == 200 for r in ROUTES if r.name in DOWNLOAD_ROUTES)
    assert readers == ([str(ROLES[role][0])] * reads if reads else [])


async def test_other_department_list_hides_our_assignments(app, db, world):
    client, headers, _ = await signed_in(app, db, UserRole.STAFF, "czt")
    listed = (await client.get("/api/v1/assignments", headers=headers)).json()
    page = (await client.get("/assignments")).text
    await client.aclose()
    assert world["ids"]["api"] not in [a["id"] for a in listed] and len(listed) == 1
    assert f'href="/assignments/{world["ids"]["page"]}"' not in page


async def test_staff_cannot_review(app, db, world):
    paths = app.openapi()["paths"]
    review = "/api/v1/assignments/{assignment_id}/review"
    assert review in paths  # the route exists: a staff member's review must be refused
    client, headers, _ = await signed_in(app, db, UserRole.STAFF, "fpb")
    body = {"key": "staff-review", "decision": "approve", "rating": 5, "comment": "好"}
    response = await client.post(
        review.format(assignment_id=world["ids"]["api"]), json=body, headers=headers
    )
    await client.aclose()
    assert response.status_code == 403
