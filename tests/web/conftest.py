"""Web fixtures: the real app (lifespan entered) on SQLite, httpx clients, users of each role signed in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from duban.domain import UserRole
from duban.services.department import sync_departments
from duban.settings import Settings
from policies.units import load_registry
from tests.web.browser import SignedIn, add_user, csrf_of, new_client, sign_in
from web.app import create_app


@pytest.fixture
def backend() -> str:
    """Web tests run on SQLite (the services are also tested on PostgreSQL)."""
    return "sqlite"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app with its lifespan running (engine, session factory, first admin)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client."""
    async with new_client(app) as c:
        yield c


@pytest.fixture
def db(app: FastAPI) -> sessionmaker[Session]:
    """The app's session factory, to arrange and check data (`with db.begin() as s:`)."""
    factory: sessionmaker[Session] = app.state.session_factory
    return factory


@pytest.fixture
def registry(db: sessionmaker[Session]) -> None:
    """The bundled department registry written into the database (drafts map units to it)."""
    with db.begin() as s:
        sync_departments(session=s, registry=load_registry())


LoginAs = Callable[..., Awaitable[SignedIn]]


@pytest.fixture
async def login_as(app: FastAPI, db: sessionmaker[Session]) -> AsyncIterator[LoginAs]:
    """Return `await login_as(role, department=None)`: a new client signed in as a new user."""
    clients: list[httpx.AsyncClient] = []

    async def _login(role: UserRole, department: str | None = None) -> SignedIn:
        user_id, username = add_user(db, role, department)
        c = new_client(app)
        clients.append(c)
        response = await sign_in(c, username)
        assert response.status_code == 303, response.text
        home = await c.get("/")
        return SignedIn(c, csrf_of(home.text), user_id, username)

    yield _login
    for c in clients:
        await c.aclose()
