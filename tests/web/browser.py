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
    """Create an active user (a department is made for staff/head); return (id, username)."""
    if role in DEPARTMENT_ROLES and department is None:
        department = add_department(db)
    username = username or f"{role.value}-{uuid.uuid4().hex[:6]}"
    with db.begin() as s:
        user = create_user(
            session=s, username=username, password=PASSWORD, role=role, department_code=department
        )
        return user.id, username


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    """Sign in through the form like a browser; return the POST response."""
    page = await client.get("/login")
    form = {"csrf_token": csrf_of(page.text), "username": username, "password": password}
    return await client.post("/login", data=form)


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
    response = await client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
