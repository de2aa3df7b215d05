"""Web test helpers: clients, users of each role, sign-in through the form, API tokens."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from duban.domain import DEPARTMENT_ROLES, UserRole
from duban.models import Department
from duban.services.user import create_user
from tests.two_factor import code_for, enrol_known

__all__ = ["code_for"]

PASSWORD = "correct-horse-1"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def new_client(app: FastAPI) -> httpx.AsyncClient:
    """Return a fresh client with its own cookie jar."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", follow_redirects=False
    )


def csrf_of(html: str) -> str:
    """Return the CSRF token embedded in a page."""
    match = CSRF_RE.search(html)
    assert match, "page has no csrf_token field"
    return match.group(1)


def add_department(
    db: sessionmaker[Session], code: str | None = None, name: str | None = None
) -> str:
    """Create a department and return its code."""
    code = code or f"d-{uuid.uuid4().hex[:6]}"
    with db.begin() as s:
        s.add(Department(code=code, name=name or f"省{code}厅"))
    return code


def add_user(
    db: sessionmaker[Session],
    role: UserRole,
    department: str | None = None,
    username: str | None = None,
) -> tuple[int, str]:
    """Create an active user (a department is made for staff/head); return (id, username).

    Supervisors, assessors, leaders and admins are enrolled in TOTP with tests/two_factor.py's secret,
    so the helpers below sign them in with a code like a real authenticator would.
    """
    if role in DEPARTMENT_ROLES and department is None:
        department = add_department(db)
    username = username or f"{role.value}-{uuid.uuid4().hex[:6]}"
    with db.begin() as s:
        user = create_user(
            session=s, username=username, password=PASSWORD, role=role, department_code=department
        )
        enrol_known(s, user, db)
        return user.id, username


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    """Sign in through the form like a browser (and its second step); return the last POST."""
    page = await client.get("/login")
    form = {"csrf_token": csrf_of(page.text), "username": username, "password": password}
    response = await client.post("/login", data=form)
    if response.status_code == 303 and response.headers["location"].startswith("/login/2fa"):
        code = code_for(username) or ""
        step = {"csrf_token": form["csrf_token"], "code": code}
        response = await client.post("/login/2fa", data=step)
    return response


@dataclass
class SignedIn:
    """A signed-in browser: its client, CSRF token and user."""

    client: httpx.AsyncClient
    csrf: str
    user_id: int
    username: str


async def api_token(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> dict[str, str]:
    """Return Authorization headers with a fresh bearer token."""
    body = {"username": username, "password": password, "otp": code_for(username)}
    response = await client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
